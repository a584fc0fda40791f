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
    # "post_zoek" sends the BSN in the body of POST /zaken/_zoek so it never lands in the
    # API's access log; "get_query" uses the list filter (older Open Zaak versions).
    bsn_search: Literal["post_zoek", "get_query"] = "post_zoek"

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
    deeplinks: DeeplinkSection = DeeplinkSection()


def _secret(name: str, demo_default: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if os.environ.get("KCC_DEMO") == "1":
        return demo_default
    raise ValueError(f"environment variable {name} is not set (it holds a secret)")
