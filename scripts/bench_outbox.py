#!/usr/bin/env python3
"""Open Klant outbox: delivery delay after Open Klant returns, measured within one run.

    KCC_DEMO=1 .venv/bin/python scripts/bench_outbox.py [--rows 50] [--down 3]

Real PostgreSQL (a throwaway database), the project's fake Open Klant over real HTTP
(tests/zaken/fake_zgw.py). ``--rows`` completed contactmomenten are queued while Open Klant
is down (every third a terugbelverzoek: klantcontact + internetaak); the worker fails and
backs off for ``--down`` seconds; then Open Klant comes up and each row's delay from that
moment to its delivery is recorded. Prints the delays and checks each klantcontact
arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiohttp.test_utils import TestServer  # noqa: E402

from telephony.scripting.outbox import OutboxWorker, enqueue  # noqa: E402
from telephony.store import db  # noqa: E402
from telephony.zaken.config import OpenKlantSection, ZakenApiSection, ZakenConfig  # noqa: E402
from telephony.zaken.schemas import NewContactmoment  # noqa: E402
from telephony.zaken.sources import ZgwZaakSource  # noqa: E402
from tests.throwaway_db import create, drop, dsn_of  # noqa: E402
from tests.zaken import fake_zgw  # noqa: E402

DB = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_bench_outbox"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--down", type=float, default=3.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every failed attempt logs a warning: by design
    os.environ.setdefault("KCC_ZAKEN_API_SECRET", fake_zgw.SECRET)
    os.environ.setdefault("KCC_OPENKLANT_TOKEN", fake_zgw.TOKEN)
    await create(DB)
    pool = await db.connect(dsn_of(DB), 1, 4)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    state = fake_zgw.FakeZgw()
    state.base = base
    partij = state.add_person(("Fatma", "", "Yılmaz"), "111222333", ["+31687654321"])
    source = ZgwZaakSource(ZakenConfig(
        source="zgw", timeout_seconds=1.0,
        zaken_api=ZakenApiSection(base_url=f"{base}/zaken/api/v1"),
        openklant=OpenKlantSection(base_url=f"{base}/klantinteracties/api/v1")))
    delivered: dict[str, float] = {}
    done = asyncio.Event()

    def mark(key: str) -> None:
        delivered[key] = time.monotonic()
        if len(delivered) >= args.rows:
            done.set()

    async def send_contact(contact: NewContactmoment, agent: str, gelukt: bool) -> str:
        out = await source.klantcontact(contact, agent=agent, gelukt=gelukt)
        if not contact.call_id.endswith("-cb"):  # a call-back is done after its task
            mark(contact.call_id)
        return out

    async def send_task(contact_uuid: str, toelichting: str) -> str:
        out = await source.openklant.internetaak(contact_uuid=contact_uuid,
                                                 toelichting=toelichting)
        mark(toelichting)
        return out

    worker = OutboxWorker(pool, send_contact, send_task)
    try:
        async with pool.acquire() as conn:
            for i in range(args.rows):
                callback = i % 3 == 0
                call_id = f"bench.{i}" + ("-cb" if callback else "")
                contact = NewContactmoment(call_id=call_id, klant_ref=partij,
                                           onderwerp="Bench", tekst=f"contact {i}")
                await enqueue(conn, call_id=call_id, agent="anna", payload={
                    "contact": contact.model_dump(mode="json"), "gelukt": True,
                    "internetaak": {"toelichting": call_id} if callback else None})
        worker.start()
        await asyncio.sleep(args.down)  # Open Klant down: attempts fail and back off
        failures = await pool.fetchval("SELECT sum(attempts) FROM openklant_outbox")
        server = TestServer(state.app(), host="127.0.0.1", port=port)
        await server.start_server()
        up = time.monotonic()
        await asyncio.wait_for(done.wait(), 120)
        await asyncio.sleep(1.0)  # let any duplicate show itself
        await worker.stop()
        await server.close()
        delays = sorted(t - up for t in delivered.values())
        contacts = [b for kind, b in state.created if kind == "klantcontact"]
        print(f"{args.rows} contacts queued while Open Klant was down for {args.down:.0f} s "
              f"({failures} failed attempts); after it returned:")
        print(f"  delivered {len(delays)}; delay median {statistics.median(delays):.2f} s, "
              f"min {delays[0]:.2f} s, max {delays[-1]:.2f} s")
        print(f"  klantcontacten received {len(contacts)} (expected {args.rows}), "
              f"internetaken {sum(1 for k, _ in state.created if k == 'internetaak')}")
    finally:
        await source.close()
        await pool.close()
        await drop(DB)


if __name__ == "__main__":
    asyncio.run(main())
