"""Load and validate the municipality configuration (one TOML file).

The admin edits one file; everything site-specific (numbers, queues, hours, endpoints) is
data in it. It is validated completely at load so that a typo stops the service at start
with ``kcc.toml:42: queues[1].ring_timeout: ...`` instead of surfacing as a wrong call
route at 9:00 on a Monday. Secrets never live in the file: it names environment
variables (``*_env`` keys) that hold them.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.config import IvrConfig, reference_problems
from ivr.hours import WEEKDAYS as WEEKDAYS  # re-exported: it used to be defined here
from ivr.hours import Hours
from telephony.auth_config import AuthConfig
from telephony.callbacks.config import CallbacksConfig
from telephony.reports.config import SupervisorConfig
from telephony.toml_lines import find_line, line_index
from telephony.zaken.config import ZakenConfig

Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


class ConfigError(Exception):
    """A config file that cannot be used; ``problems`` are ``file:line: path: message``."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@functools.lru_cache(maxsize=1024)
def normalise_number(raw: str, region: str = "NL") -> str:
    """E.164 form of a Dutch or international number; raises ValueError when invalid.

    Cached: every inbound call asks for the dialled number (bench_sipp's profile)."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r} ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def dialled_digits(e164: str) -> str:
    """The digits a Dutch trunk delivers for a number: national form without spaces."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"\D", "", national)


class KccSection(_Strict):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = "Europe/Amsterdam"
    default_language: Literal["nl", "en"] = "nl"
    languages: list[Literal["nl", "en"]] = ["nl", "en"]
    max_transfers: int = Field(default=1, ge=0, le=5)
    callback_promise_working_days: int = Field(default=2, ge=1, le=20)


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$")


def _ipv4(value: str) -> str:
    """An IPv4 address (it is written as ``bind = ADDRESS:PORT`` into pjsip.conf)."""
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _host(value: str) -> str:
    """An IP address or a DNS name: what may go into a dialplan URL (no , ( ) / ;)."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOSTNAME.match(text):
        raise ValueError(f"{value!r} is not an IP address or host name")
    return text


def is_loopback(entry: str) -> bool:
    """True for 127.0.0.0/8 and ::1 addresses/networks (the demo's trunk)."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False).is_loopback
    except ValueError:
        return False


class ServiceSection(_Strict):
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    agi_host: str = "127.0.0.1"
    agi_port: int = Field(default=4573, ge=1, le=65535)
    # Who may connect to FastAGI (addresses/networks of the Asterisk servers). Empty:
    # loopback plus asterisk.ami_host when that is an address.
    agi_allow: list[str] = []
    instance_id: str = "kcc-1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # HTTPS served by the service itself (PEM files). Without them the service binds
    # only a loopback http_host, unless a TLS proxy in front is declared.
    tls_cert: str | None = None
    tls_key: str | None = None
    behind_tls_proxy: bool = False

    @field_validator("agi_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @model_validator(mode="after")
    def _transport(self) -> ServiceSection:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise _located(("service", "tls_cert"), "tls_cert and tls_key go together")
        if self.tls_cert is None and not self.behind_tls_proxy and not is_loopback(
                self.http_host) and self.http_host != "localhost":
            raise _located(("service", "http_host"),
                           f"plain HTTP on {self.http_host!r} would carry tokens and BSN "
                           "searches unencrypted: set tls_cert/tls_key, bind 127.0.0.1, or "
                           "set behind_tls_proxy = true when a TLS proxy is in front")
        return self


_AGI_SERVER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,252}:[0-9]{1,5}")


class AsteriskSection(_Strict):
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    # Goes into manager.conf as a [section] name: letters, digits, . _ - only.
    ami_user: str = Field(default="kcc", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    ami_secret_env: str = "KCC_AMI_SECRET"
    ami_action_timeout: float = Field(default=5.0, gt=0, le=120)
    ami_ping_interval: float = Field(default=10.0, gt=0, le=300)
    sip_bind: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=1, le=65535)
    http_port: int = Field(default=8088, ge=1, le=65535)
    wss_port: int = Field(default=8089, ge=1, le=65535)
    trunk_match: list[str] = ["127.0.0.1"]
    # Where Asterisk reaches the service's FastAGI server (may differ from agi_host).
    agi_url_host: str = "127.0.0.1"
    # The agents' softphone WebSocket (wss://pbx.example.nl:8089/ws). Empty: the host the
    # browser used plus wss_port. Also the only WebSocket besides 'self' the CSP allows.
    wss_url: str = Field(default="", pattern=r"^(wss://[A-Za-z0-9.:\[\]-]{1,260}/[A-Za-z0-9/_-]{0,64})?$")

    @field_validator("sip_bind")
    @classmethod
    def _sip_bind(cls, value: str) -> str:
        return _ipv4(value)

    @field_validator("agi_url_host")
    @classmethod
    def _agi_url_host(cls, value: str) -> str:
        return _host(value)

    # Several service instances: "host:port" of each FastAGI server, tried in order by the
    # dialplan (the next when one cannot be reached, AGISTATUS=FAILURE), then the general
    # queue. Empty: the one server at agi_url_host:[service] agi_port.
    agi_servers: list[str] = []

    @field_validator("agi_servers")
    @classmethod
    def _agi_servers(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _AGI_SERVER.fullmatch(item):
                raise ValueError(f"{item!r} is not host:port (letters, digits, '.', '-')")
            if not 1 <= int(item.rpartition(":")[2]) <= 65535:
                raise ValueError(f"{item!r}: port must be 1-65535")
        if len(set(value)) != len(value):
            raise ValueError("an AGI server is listed twice")
        return value


class DatabaseSection(_Strict):
    dsn_env: str = "KCC_DATABASE_URL"
    default_dsn: str = "postgresql://postgres@127.0.0.1:5432/kcc"
    # The role that owns the tables and runs the migrations (issue 10, finding 8); the
    # dsn's role then only gets the rights the service needs (telephony/store/roles.py).
    # Empty: the dsn's role does both (one role, the old way).
    migrations_dsn_env: str = "KCC_MIGRATIONS_DATABASE_URL"
    default_migrations_dsn: str = ""
    min_pool: int = Field(default=1, ge=1)
    max_pool: int = Field(default=10, ge=1)
    # Record writes PostgreSQL cannot take wait here (telephony/store/spool.py).
    spool_path: str = "/var/lib/kcc-telefonie/spool/records.sqlite"
    spool_max_rows: int = Field(default=100_000, ge=10)
    write_timeout: float = Field(default=5.0, gt=0, le=60)


class RedisSection(_Strict):
    url_env: str = "KCC_REDIS_URL"
    default_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = Field(default="kcc:", pattern=r"^[A-Za-z0-9:_-]{1,32}$")


class Municipality(_Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=120)
    address: str = ""
    spoken_name: str = ""


class Number(_Strict):
    """A public number (a 14 number) and the municipalities it serves."""

    number: str
    municipalities: list[Ident] = Field(min_length=1)

    @field_validator("number")
    @classmethod
    def _valid(cls, value: str) -> str:
        return normalise_number(value)

    @property
    def e164(self) -> str:
        return self.number

    @property
    def digits(self) -> str:
        """As the trunk delivers it, e.g. ``140180``."""
        return dialled_digits(self.number)


class Queue(_Strict):
    id: Ident
    name: str = Field(min_length=1, max_length=80)
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear",
                      "wrandom", "rrordered"] = "rrmemory"
    ring_timeout: int = Field(default=15, ge=3, le=120)
    wrapup_seconds: int = Field(default=30, ge=0, le=900)
    max_wait_seconds: int = Field(default=900, ge=30, le=7200)
    service_level_seconds: int = Field(default=20, ge=5, le=300)
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    general: bool = False
    # Overflow, done by Asterisk itself so it works while the service is down:
    # after overflow_after_seconds the call leaves for overflow_to (default: the general
    # queue); after widen_after_seconds agents below first_min_level are rung too.
    overflow_after_seconds: int | None = Field(default=None, ge=10, le=7200)
    overflow_to: Ident | None = None
    first_min_level: int = Field(default=1, ge=1, le=10)
    widen_after_seconds: int | None = Field(default=None, ge=5, le=3600)
    # An agent who lets the call ring out: paused ("niet opgenomen") or straight back.
    no_answer: Literal["pause", "available"] = "pause"

    @property
    def queue_timeout(self) -> int:
        return self.overflow_after_seconds or self.max_wait_seconds


class AcdSection(_Strict):
    pause_reasons: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,29}$")]] = [
        "pauze", "overleg", "training", "backoffice-taak"]
    sl_window_seconds: int = Field(default=3600, ge=60, le=86400)
    short_abandon_seconds: int = Field(default=5, ge=0, le=60)
    session_hours: int = Field(default=12, ge=1, le=24)


class DemoAgent(_Strict):
    """An agent the demo and tests create; real agents live in PostgreSQL."""

    login: Ident
    name: str
    queues: list[Ident] = []
    # Skill levels per queue (1 = helps out, 10 = specialist); queues not listed: 5.
    levels: dict[str, int] = {}
    role: Literal["agent", "supervisor", "admin", "privacy_officer"] = "agent"


class Config(_Strict):
    kcc: KccSection
    service: ServiceSection = ServiceSection()
    asterisk: AsteriskSection = AsteriskSection()
    database: DatabaseSection = DatabaseSection()
    redis: RedisSection = RedisSection()
    municipalities: list[Municipality] = Field(min_length=1)
    numbers: list[Number] = Field(min_length=1)
    queues: list[Queue] = Field(min_length=1)
    hours: Hours = Hours()
    agents: list[DemoAgent] = []
    acd: AcdSection = AcdSection()
    ivr: IvrConfig = IvrConfig()
    zaken: ZakenConfig = ZakenConfig()
    callbacks: CallbacksConfig = CallbacksConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    auth: AuthConfig = AuthConfig()

    @model_validator(mode="after")
    def _cross_refs(self) -> Config:
        muni_ids = [m.id for m in self.municipalities]
        _unique(muni_ids, "municipalities", "id")
        _unique([q.id for q in self.queues], "queues", "id")
        _unique([n.number for n in self.numbers], "numbers", "number")
        _unique([a.login for a in self.agents], "agents", "login")
        for i, number in enumerate(self.numbers):
            for ref in number.municipalities:
                if ref not in muni_ids:
                    raise _located(("numbers", i, "municipalities"),
                                   f"unknown municipality {ref!r} (known: {', '.join(muni_ids)})")
        generals = [q.id for q in self.queues if q.general]
        if len(generals) != 1:
            raise _located(("queues",), "exactly one queue must have general = true "
                           f"(the fallback when the service is down); found {generals or 'none'}")
        queue_ids = {q.id for q in self.queues}
        for i, q in enumerate(self.queues):
            if q.overflow_to is not None and (q.overflow_to not in queue_ids
                                              or q.overflow_to == q.id):
                raise _located(("queues", i, "overflow_to"),
                               f"overflow_to must be another configured queue, not "
                               f"{q.overflow_to!r}")
        for i, agent in enumerate(self.agents):
            for ref in agent.queues:
                if ref not in queue_ids:
                    raise _located(("agents", i, "queues"), f"unknown queue {ref!r}")
        for loc, message in reference_problems(self.ivr, queue_ids, set(muni_ids))[:1]:
            raise _located(loc, message)
        if os.environ.get("KCC_DEMO") == "1":
            for i, match in enumerate(self.asterisk.trunk_match):
                if not is_loopback(match):
                    raise _located(("asterisk", "trunk_match", i),
                                   f"KCC_DEMO=1 (public demo secrets) with a trunk at "
                                   f"{match!r}: the demo runs only with a loopback trunk")
        return self

    def agi_allowed(self) -> list[str]:
        """Addresses that may connect to FastAGI: ``agi_allow`` or loopback + ami_host."""
        if self.service.agi_allow:
            return list(self.service.agi_allow)
        allowed = ["127.0.0.1", "::1"]
        try:
            allowed.append(str(ipaddress.ip_address(self.asterisk.ami_host)))
        except ValueError:
            pass  # a host name: list the address in agi_allow
        return allowed

    @property
    def general_queue(self) -> Queue:
        return next(q for q in self.queues if q.general)

    def number_for_digits(self, digits: str) -> Number | None:
        """The configured number a trunk delivered (``140180``, ``+31140180``...)."""
        try:
            e164 = normalise_number(digits)
        except ValueError:
            return None
        return next((n for n in self.numbers if n.e164 == e164), None)

    def ami_secret(self) -> str:
        return _env(self.asterisk.ami_secret_env, "kcc-demo-secret")

    def session_secret(self) -> bytes:
        """The key that MACs session records in Redis (same on every instance)."""
        return _env(self.auth.session_secret_env, "kcc-demo-session-secret").encode()

    def database_dsn(self) -> str:
        return os.environ.get(self.database.dsn_env) or self.database.default_dsn

    def migrations_dsn(self) -> str | None:
        return (os.environ.get(self.database.migrations_dsn_env)
                or self.database.default_migrations_dsn or None)

    def redis_url(self) -> str:
        return os.environ.get(self.redis.url_env) or self.redis.default_url


class _LocatedError(ValueError):
    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc


def _located(loc: tuple[str | int, ...], message: str) -> _LocatedError:
    return _LocatedError(loc, message)


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise _located((section, i, key), f"duplicate {key} {value!r}")
        seen.add(value)


def _env(name: str, demo_default: str) -> str:
    """A secret from the environment; the demo default only when KCC_DEMO=1."""
    value = os.environ.get(name)
    if value:
        return value
    if os.environ.get("KCC_DEMO") == "1":
        return demo_default
    raise ConfigError([f"environment variable {name} is not set (it holds a secret)"])


def _format_loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_config(path: str | Path) -> Config:
    """Read, parse and validate ``path``; raise ConfigError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_config(text, str(path))


def parse_config(text: str, name: str = "kcc.toml") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts "(at line N, column M)" in its message.
        match = re.search(r"line (\d+)", str(exc))
        where = f"{name}:{match.group(1)}" if match else name
        raise ConfigError([f"{where}: TOML syntax error: {exc}"]) from None
    index = line_index(text)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            inner = err.get("ctx", {}).get("error")
            if isinstance(inner, _LocatedError):
                loc, message = inner.loc, str(inner)
            else:
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    message = "unknown key (misspelt?)"
            line = find_line(index, loc)
            where = f"{name}:{line}" if line else name
            problems.append(f"{where}: {_format_loc(loc)}: {message}")
        raise ConfigError(problems) from None
