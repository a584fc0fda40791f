"""The ``[zaken]`` config section: where caller data comes from and how the pop shows it.

Kept next to the code that uses it (one section, one module) and validated as strictly as
``telephony/config.py``: a wrong URL template or an unknown key stops the service at start,
not when the first citizen calls. Secrets are never in the file; ``*_env`` keys name the
environment variables that hold them.
"""

from __future__ import annotations

import os
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DEEPLINK_FIELDS = {"klant_ref", "zaak_identificatie", "zaak_uuid"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZakenApiSection(_Strict):
    """Zaken API (Open Zaak), ZGW JWT auth."""

    base_url: str = "http://127.0.0.1:8000/zaken/api/v1"
    client_id: str = "kcc-telefonie"
    secret_env: str = "KCC_ZAKEN_API_SECRET"
    jwt_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    accept_crs: str = "EPSG:4326"
    # The BSN travels in the body of POST /zaken/_zoek, never in a URL (access logs,
    # proxies). The old "get_query" option (BSN as a GET filter) is refused at load
    # (issue 10, finding 11): a server without _zoek (Open Zaak < 1.11) cannot be used.
    bsn_search: str = "post_zoek"

    @field_validator("bsn_search")
    @classmethod
    def _no_bsn_in_urls(cls, value: str) -> str:
        if value != "post_zoek":
            raise ValueError(f"{value!r}: only \"post_zoek\" (BSN in the request body); "
                             "a BSN is never put in a query string")
        return value

    def secret(self) -> str:
        return _secret(self.secret_env, "kcc-demo-zgw-secret-32-bytes-or-longer")


class OpenKlantSection(_Strict):
    """Klantinteracties API (Open Klant 2), ``Authorization: Token``."""

    base_url: str = "http://127.0.0.1:8001/klantinteracties/api/v1"
    token_env: str = "KCC_OPENKLANT_TOKEN"
    # The KCC's actor in Open Klant: callback tasks (internetaken) are assigned to it.
    actor_uuid: str = ""
    kanaal: str = "telefoon"

    def token(self) -> str:
        return _secret(self.token_env, "kcc-demo-openklant-token")


class BrpSection(_Strict):
    """BRP API Personen (Haal Centraal BRP Personen bevragen v2): the agent's search by
    BSN, name + birth date and postcode + huisnummer when ``source = "zgw"``.

    ``base_url`` is the API root without ``/personen`` (e.g.
    ``https://proefomgeving.haalcentraal.nl/haalcentraal/api/brp``). The API key goes in
    ``api_key_header`` (``X-API-KEY`` as KISS and the proefomgeving use; empty
    ``api_key_env`` = no key, e.g. a gateway that authenticates with mTLS only).
    ``ref_key_env`` holds the secret the opaque person refs (``p-...``) are encrypted
    with: changing it changes every ref, so the processing log's refs stop matching.
    """

    enabled: bool = False
    base_url: str = "http://127.0.0.1:5000/haalcentraal/api/brp"
    api_key_env: str = "KCC_BRP_API_KEY"
    api_key_header: str = Field(default="X-API-KEY", pattern=r"^[A-Za-z0-9-]{1,64}$")
    ref_key_env: str = "KCC_BRP_REF_KEY"
    # Only persons registered in this municipality (4-digit gemeentecode, e.g. "0513").
    gemeente_van_inschrijving: str = Field(default="", pattern=r"^([0-9]{4})?$")
    # Optional header carrying the agent's login, for a gateway's protocollering.
    user_header: str = Field(default="", pattern=r"^([A-Za-z0-9-]{1,64})?$")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    def api_key(self) -> str:
        return _secret(self.api_key_env, "kcc-demo-brp-api-key") if self.api_key_env else ""

    def ref_key(self) -> str:
        key = _secret(self.ref_key_env, "kcc-demo-brp-ref-key-of-at-least-32-chars!")
        if len(key) < 32:
            raise ValueError(f"{self.ref_key_env} must hold at least 32 characters")
        return key


class DeeplinkSection(_Strict):
    """Links into the municipality's KCC front end (KISS or another), per klant / zaak.

    Only ``{klant_ref}``, ``{zaak_identificatie}`` and ``{zaak_uuid}`` may appear: a BSN
    in a URL ends up in browser history and proxy logs.
    """

    klant: str = ""
    zaak: str = ""

    @field_validator("klant", "zaak")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL template")
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        unknown = names - _DEEPLINK_FIELDS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: "
                             f"{sorted(_DEEPLINK_FIELDS)}")
        return value


class ZakenConfig(_Strict):
    source: Literal["postgres", "zgw"] = "postgres"
    # Per request to a source; past it the pop is sent anyway, marked incomplete.
    timeout_seconds: float = Field(default=0.8, gt=0, le=30)
    max_open_zaken: int = Field(default=10, ge=1, le=50)
    max_contacts: int = Field(default=5, ge=0, le=50)
    max_candidates: int = Field(default=5, ge=1, le=20)
    default_region: str = Field(default="NL", pattern=r"^[A-Z]{2}$")
    purpose: str = "Beantwoorden van een telefonische vraag van de klant (KCC)"
    # AVG storage limitation. A call's pop state (caller number, candidates, choice) is
    # deleted at hangup; what a missed hangup left (service down) goes after this term.
    pop_state_hours: int = Field(default=12, ge=1, le=168)
    # The processing log's own term, set by the municipality (its logging policy). The
    # database refuses anything under 30 days (migration 0012).
    processing_log_retention_days: int = Field(default=730, ge=30, le=3650)
    zaken_api: ZakenApiSection = ZakenApiSection()
    openklant: OpenKlantSection = OpenKlantSection()
    brp: BrpSection = BrpSection()
    deeplinks: DeeplinkSection = DeeplinkSection()


def _secret(name: str, demo_default: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if os.environ.get("KCC_DEMO") == "1":
        return demo_default
    raise ValueError(f"environment variable {name} is not set (it holds a secret)")
