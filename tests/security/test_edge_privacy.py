"""Finding 11: no BSN in a query string, ever; a phone number only where the standard API
offers nothing else (Open Klant 2's ``digitaleadressen?adres=``, see SECURITY.md).

A URL is written to access logs, proxy logs and browser history that nobody purges on
the AVG's terms; a request body is not. Checked at three levels: the config cannot ask
for it, the source sends no such parameter, the service's own routes take none.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from telephony.config import ConfigError, parse_config

pytestmark = [pytest.mark.asterisk]
REPO = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("telephony", "ivr", "agent_ui") for p in (REPO / d).rglob("*.py")]
SCRIPTS = list((REPO / "agent_ui" / "static").glob("*.js"))
# Query-string parameters that carry a phone number, and why they are allowed (the only
# search the standard offers). Anything else found is a failure.
PHONE_IN_QUERY_ALLOWED = {"telephony/zaken/openklant.py": '"adres": spelling'}
BSN_IN_URL = re.compile(r"""(params\s*=\s*\{[^}]*bsn|[?&]bsn=|query\.get\(\s*["']bsn)""",
                        re.IGNORECASE)
PHONE_PARAM = re.compile(r"params\s*=\s*\{[^}]*(adres|telefoon|phone|nummer|number)",
                         re.IGNORECASE)


def test_bsn_in_a_query_string_cannot_be_configured() -> None:
    text = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('bsn_search = "post_zoek"', 'bsn_search = "get_query"', 1)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "kcc.toml")
    assert re.match(r"kcc\.toml:\d+: zaken\.zaken_api\.bsn_search: 'get_query'",
                    info.value.problems[0]), info.value.problems


def test_no_source_puts_a_bsn_or_an_unlisted_phone_number_in_a_url() -> None:
    bsn, phone = [], []
    for path in SOURCES + SCRIPTS:
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(REPO))
        bsn += [rel for _ in BSN_IN_URL.finditer(text)]
        for match in PHONE_PARAM.finditer(text):
            allowed = PHONE_IN_QUERY_ALLOWED.get(rel)
            if not allowed or allowed not in text[match.start():match.end() + 80]:
                phone.append(f"{rel}: {match.group(0)[:80]}")
    assert bsn == [] and phone == [], (bsn, phone)
    # The allow-list is not stale: the one allowed place still exists.
    for rel, marker in PHONE_IN_QUERY_ALLOWED.items():
        assert marker in (REPO / rel).read_text(encoding="utf-8"), rel


async def test_no_route_takes_a_bsn_or_phone_number_in_its_query(edge_service) -> None:
    h = edge_service
    base = f"http://127.0.0.1:{h.config.service.http_port}"
    token = await h.token("anna")
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}) as s:
        async with s.get("/api/openapi.json") as r:
            doc = await r.json()
        bad = [(path, p.get("name")) for path, ops in doc["paths"].items()
               for op in ops.values() if isinstance(op, dict)
               for p in op.get("parameters", [])
               if p.get("in") == "query" and re.search(r"bsn|phone|telefoon|number|nummer",
                                                       str(p.get("name")), re.I)]
        assert bad == []
        # The BSN search is POST-only: a GET with the BSN in the URL is not served.
        async with s.get("/api/zaken/klanten/search", params={"bsn": "111222333"}) as r:
            assert r.status == 405
