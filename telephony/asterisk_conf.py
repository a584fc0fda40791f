"""Render the Asterisk 22 configuration (``asterisk-conf/*.conf.j2``) from the KCC config.

Everything that differs per site (numbers, queues, ports, AMI user, agents) comes from the
one municipality TOML file, so the sandbox, the demo and a production PBX run the same
dialplan and nobody hand-edits a copy that then drifts. Secrets are read from the
environment at render time and end up only in the rendered files (mode 0600 when written).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Any

import jinja2

from telephony.config import Config, _env

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "asterisk-conf"
SIP_SECRET_ENV = "KCC_SIP_SECRET"
SIP_DEMO_SECRET = "kcc-demo-sip"
RTP_PORTS = (10000, 20000)
# Extensions with a special meaning to Asterisk (start, hangup, invalid, timeout, ...).
# A queue with such an id would turn kcc-queue's whitelist entry into a trap.
_SPECIAL_EXTENS = {"a", "e", "h", "i", "o", "s", "t", "T"}
_TRUNK_MATCH = re.compile(r"^[A-Za-z0-9.:/_-]{1,255}$")
# Files that hold secrets: written readable by root only.
SECRET_FILES = {"manager.conf", "pjsip.conf"}


def sip_secret() -> str:
    """The agents' SIP password, same rule as ``Config.ami_secret()``.

    From ``KCC_SIP_SECRET``; the well-known demo value only when ``KCC_DEMO=1``, so a
    production render without the variable fails instead of shipping a public password.
    """
    return _env(SIP_SECRET_ENV, SIP_DEMO_SECRET)


def agent_sip_password(login: str, master: str | None = None) -> str:
    """Agent ``login``'s own SIP password, derived from the master secret.

    HMAC-SHA256 of the login under ``KCC_SIP_SECRET``: every agent has a different
    password (one agent's panel cannot register as a colleague), nothing extra has to be
    stored, and rotating the master secret rotates them all.
    """
    key = (master if master is not None else sip_secret()).encode()
    digest = hmac.new(key, f"kcc-sip-agent:{login}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def _conf_value(value: object) -> str:
    """A value safe on one line of an Asterisk .conf file.

    ``;`` starts a comment in Asterisk config files (``\\;`` is a literal one) and a
    newline would start a new setting: free text (names) must not be able to add
    settings to the rendered config.
    """
    text = re.sub(r"[\r\n\x00]+", " ", str(value))
    return text.replace("\\", "\\\\").replace(";", "\\;")


def _callerid_name(value: object) -> str:
    """A display name for ``callerid = "NAME" <num>``: no quotes or angle brackets."""
    return _conf_value(re.sub(r'["<>]', "", str(value))).strip()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["conf_value"] = _conf_value
    env.filters["callerid_name"] = _callerid_name
    return env


def number_extensions(e164: str, digits: str) -> list[str]:
    """The forms a trunk may deliver for one number: national digits, E.164 with/without +."""
    forms = [digits, e164.lstrip("+"), e164]
    return list(dict.fromkeys(forms))


def _check(config: Config) -> None:
    """Refuse configs that would render a dialplan that does something else than meant."""
    for queue in config.queues:
        if queue.id in _SPECIAL_EXTENS:
            raise ValueError(f"queue id {queue.id!r} is a special Asterisk extension name; "
                             "choose a longer id")
    for match in config.asterisk.trunk_match:
        if not _TRUNK_MATCH.match(match):
            raise ValueError(f"asterisk.trunk_match entry {match!r} is not an address or "
                             "network")


def _context(config: Config, sandbox: bool = False) -> dict[str, Any]:
    master = sip_secret()
    numbers = [
        {
            "e164": n.e164,
            "digits": n.digits,
            "extens": number_extensions(n.e164, n.digits),
            "municipalities": n.municipalities,
        }
        for n in config.numbers
    ]
    return {
        "header": "Rendered by kcc-telefonie from the KCC config; do not edit, edit the "
                  "config and re-render.",
        "a": config.asterisk,
        "s": config.service,
        # FastAGI servers in the order the dialplan tries them (several instances).
        "agi_servers": config.asterisk.agi_servers
        or [f"{config.asterisk.agi_url_host}:{config.service.agi_port}"],
        "numbers": numbers,
        "queues": config.queues,
        "general": config.general_queue,
        "max_transfers": config.kcc.max_transfers,
        # Softphones for those who take calls; an admin or privacy officer has none.
        "agents": [a for a in config.agents if a.role in ("agent", "supervisor")],
        "ivr": config.ivr,
        "ami_secret": config.ami_secret(),
        "sip_passwords": {a.login: agent_sip_password(a.login, master)
                          for a in config.agents},
        "rtp_start": RTP_PORTS[0],
        "rtp_end": RTP_PORTS[1],
        "callback_caller_id": (config.callbacks.callback_caller_id
                               or config.numbers[0].e164),
        "callback_caller_name": _callerid_name(config.kcc.name),
        # kcc-test-* contexts, debug logging: only in the sandbox, never on a real PBX.
        "sandbox": sandbox,
    }


def template_names() -> list[str]:
    return sorted(p.name for p in TEMPLATE_DIR.glob("*.conf.j2"))


def render(config: Config, *, sandbox: bool = False) -> dict[str, str]:
    """All Asterisk config files for ``config``: file name -> text.

    ``sandbox``: add the scripted test contexts (``kcc-test-*``) and verbose logging.
    A production render has neither: no Local channel can reach a test helper, and
    Asterisk's own log holds no caller names or numbers at its production level.
    """
    _check(config)
    env = _environment()
    ctx = _context(config, sandbox)
    return {
        name.removesuffix(".j2"): env.get_template(name).render(ctx)
        for name in template_names()
    }


def write_rendered(config: Config, out_dir: str | Path) -> list[Path]:
    """Render into ``out_dir`` (created if needed); returns the paths written.

    Files with secrets get mode 0600. Writes go through a temporary file and a rename so
    a running Asterisk that reloads at that moment never reads half a file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(config).items():
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600 if name in SECRET_FILES else 0o644)
        tmp.replace(path)
        written.append(path)
    return written
