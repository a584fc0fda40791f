"""Callback figures, measured within one run.

    KCC_SANDBOX_DIR=... .venv/bin/python scripts/bench_callbacks.py \
        --config /tmp/kcc-cb/demo-cb.toml [--rounds 20] [--callbacks 2000]

1. Agent free -> citizen's phone ringing (real sandbox Asterisk, PostgreSQL, Redis; the
   service in-process). Each round: zoe paused, one callback waiting; at t0 the ACD
   resumes zoe; t1 is Asterisk's timestamp of the citizen's channel (Newchannel of the
   Local channel into the citizen context), as the live model recorded it. resume() goes
   through the ACD hook (the callback is claimed before the agent is unpaused), so no
   poll interval is in this figure; it includes the claim, the reservation, ringing the
   agent (a scripted agent answers at once) and the Originate of the citizen. (Agents
   freed other ways are found by the poll loop: add up to poll_seconds * 1.5.)
2. Claims per second by two dispatcher instances against the real PostgreSQL, with a
   dialer that "answers" at once (the Asterisk side is not in this figure): N callbacks,
   20 agents per instance; then a check that every callback was claimed exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.callbacks.config import CallbacksConfig  # noqa: E402
from telephony.callbacks.dispatcher import Dispatcher  # noqa: E402
from telephony.callbacks.store import CallbackStore, Claim  # noqa: E402
from telephony.config import Config, load_config  # noqa: E402
from telephony.service import KccService  # noqa: E402
from telephony.store import db  # noqa: E402

AGENT = "zoe"
DSN = "postgresql://postgres@127.0.0.1:5432/kcc_bench_cb"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _config(path: Path) -> Config:
    config = load_config(path)
    return config.model_copy(update={
        "ivr": config.ivr.model_copy(update={"enabled": False}),
        "database": config.database.model_copy(update={"default_dsn": DSN,
                                                       "dsn_env": "KCC_BENCH_NO_ENV"}),
        "redis": config.redis.model_copy(update={"prefix": "kccbenchcb:"}),
        "callbacks": config.callbacks.model_copy(update={
            "citizen_context": "kcc-test-citizen", "poll_seconds": 0.2}),
    })


async def agent_free_to_ringing(config: Config, rounds: int) -> list[float]:
    await asyncio.to_thread(sandbox.up, config)
    service = KccService(config)
    await service.start(web_enabled=False)
    d = service.callbacks.dispatcher
    assert d is not None and service.callbacks.store is not None
    d.is_open = lambda now: True
    store = service.callbacks.store
    out: list[float] = []
    try:
        await service.link.wait_connected(20)
        await service.pool.execute("DELETE FROM callbacks")
        await service.acd.ensure_demo_agents()
        for login in ("anna", "mehmet", AGENT):
            await service.acd.logout(login)
        await service.acd.login(AGENT)
        for _ in range(rounds):
            await service.acd.pause(AGENT, "pauze")
            now = datetime.now(UTC)
            cid = await store.create(kind="virtual_hold", queue="algemeen",
                                     number="+31612340001", queued_at=now, due_at=now)
            await asyncio.sleep(0.3 + random.random())
            t0 = time.time()
            await service.acd.resume(AGENT)
            linkedid = f"cb-{cid}-1"
            ring = None
            deadline = time.monotonic() + 15
            while ring is None and time.monotonic() < deadline:
                call = service.model.calls.get(linkedid)
                if call is not None:
                    ring = next((leg.created_at for leg in call.legs.values()
                                 if "kcc-test-citizen" in leg.channel), None)
                await asyncio.sleep(0.005)
            if ring is None:
                raise RuntimeError("the citizen was not dialled")
            out.append((ring - t0) * 1000)
            for _ in range(600):  # the call ends (~4 s), the reservation with it
                row = await store.get(cid) or {}
                if row.get("status") == "done" and \
                        service.acd.state_of(AGENT)["state"] == "available":
                    break
                await asyncio.sleep(0.05)
        await service.acd.logout(AGENT)
    finally:
        await service.stop()
    return out


class _InstantDialer:
    async def dial(self, claim: Claim, linkedid: str) -> bool:
        return True

    async def unreserve(self, agent: str) -> None:
        return None


async def claims_per_second(n: int) -> tuple[float, int, int, dict[str, int]]:
    pool = await db.connect(DSN, 2, 20)
    await pool.execute("DELETE FROM callbacks")
    store = CallbackStore(pool)
    start = datetime.now(UTC) - timedelta(hours=1)
    await pool.executemany(
        """INSERT INTO callbacks (kind, queue, number, queued_at, due_at)
           VALUES ('virtual_hold', 'algemeen', '+31612340001', $1, $1)""",
        [(start + timedelta(milliseconds=i),) for i in range(n)])
    cfg = CallbacksConfig(poll_seconds=0.001, lease_seconds=60)
    dispatchers = []
    for inst in ("bench-1", "bench-2"):
        agents = {f"{inst}-a{i}": ["algemeen"] for i in range(20)}
        dispatchers.append(Dispatcher(
            cfg, store, _InstantDialer(), instance=inst,  # type: ignore[arg-type]
            free_agents=lambda agents=agents: agents, earliest_caller=lambda q: None,
            live_linkedids=set, is_open=lambda now: True, next_open=lambda at: at))

    async def work(d: Dispatcher) -> None:
        while True:
            if not await d.tick():
                remaining = await pool.fetchval(
                    "SELECT count(*) FROM callbacks WHERE status = 'waiting'")
                if not remaining and not d.active:
                    return
            for cid, claim in list(d.active.items()):  # the call "ends" at once
                await d.record(cid, claim.attempt, "reached", "ANSWER")
            await asyncio.sleep(0)

    t0 = time.perf_counter()
    await asyncio.gather(*(work(d) for d in dispatchers))
    seconds = time.perf_counter() - t0
    attempts = await pool.fetchval("SELECT count(*) FROM callback_attempts a JOIN callbacks c "
                                   "ON c.id = a.callback_id")
    doubles = await pool.fetchval(
        "SELECT count(*) FROM (SELECT callback_id FROM callback_attempts GROUP BY callback_id "
        "HAVING count(*) > 1) x")
    per = {d.instance: d.dispatched for d in dispatchers}
    await pool.close()
    return n / seconds, attempts, doubles, per


async def run(config_path: Path, rounds: int, n: int) -> None:
    config = _config(config_path)
    values = await agent_free_to_ringing(config, rounds)
    print(f"agent free -> citizen ringing, {rounds} rounds (ms): median "
          f"{statistics.median(values):.1f}  p99 {p99(values):.1f}  min {min(values):.1f}  "
          f"max {max(values):.1f}  (poll interval {config.callbacks.poll_seconds * 1000:.0f} "
          f"ms +-50%)")
    rate, attempts, doubles, per = await claims_per_second(n)
    print(f"two dispatchers, {n} callbacks: {rate:.0f} claimed+recorded per second; "
          f"attempts {attempts}, callbacks claimed twice: {doubles}; per instance {per}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=os.environ.get("KCC_TEST_CONFIG")
                        or str(ROOT / "config" / "demo.toml"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--callbacks", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    asyncio.run(run(Path(args.config), args.rounds, args.callbacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
