"""No BSN in any log record during a full identify + pop + search + verify + query flow."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest

from telephony.zaken.sources import ZgwZaakSource

from .helpers import make_call
from .helpers import popper as make_popper
from .test_api import as_, client, fake_auth  # noqa: F401 (fixtures)
from .test_zgw_adapters import BSN, fake, zgw_config  # noqa: F401 (fixtures)


def _all_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args)]
    parts += [repr(v) for k, v in record.__dict__.items() if k not in ("msg", "args")]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def test_full_flow_logs_no_bsn(client: Any, fake: Any, pool: asyncpg.Pool,  # noqa: F811
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    http, popper, _ = client
    bsns = {r["bsn"] for r in await pool.fetch("SELECT bsn FROM klanten WHERE bsn IS NOT NULL")}
    bsns.add(BSN)
    # Built-in store: caller ID, several matches, search by BSN, choose, verify, query.
    call = make_call("0182123456", zaaknummer="ZAAK-0000-0000001")
    pop = await popper.build(call, "anna")
    target = await pool.fetchrow(
        "SELECT k.ref::text AS ref, k.bsn FROM klanten k JOIN klant_telefoonnummers t "
        "ON t.klant_id = k.id WHERE t.e164 = '+31182123456' ORDER BY k.id LIMIT 1")
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"bsn": target["bsn"], "call_id": call["linkedid"]})
    assert resp.status == 200
    for step in ("choose", "verify"):
        resp = await http.post(f"/api/zaken/calls/{call['linkedid']}/{step}",
                               headers=as_("anna"), json={"klant_ref": target["ref"]})
        assert resp.status == 200
    resp = await http.post("/api/zaken/klanten/search", headers=as_("anna"),
                           json={"bsn": "123456789"})
    assert resp.status == 422
    resp = await http.post("/api/zaken/processing-log/query",
                           headers=as_("fg", "privacy_officer"), json={"bsn": target["bsn"]})
    assert resp.status == 200
    assert pop["candidates"]
    # ZGW adapters, including failures (which log a warning).
    state, server = fake
    partij = state.add_person(("Kees", "", "Jansen"), BSN, ["0612345678"])
    state.add_zaak(BSN, "ZAAK-1")
    for timeout, delay in ((1.0, 0.0), (0.2, 1.0)):
        state.delays["/_zoek"] = delay
        config = zgw_config(server, timeout=timeout)
        source = ZgwZaakSource(config)
        try:
            zp = make_popper(pool, source, config)
            zcall = make_call("+31612345678")
            await zp.build(zcall, "anna")
            await zp.mark_verified(zcall["linkedid"], "anna", partij)
        finally:
            await source.close()
    assert caplog.records, "the flow logs something (else this test proves nothing)"
    assert any("failed" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = _all_text(record)
        leaked = [b for b in bsns if b in text]
        assert not leaked, f"BSN in log record {record.name}: {record.getMessage()[:200]}"
