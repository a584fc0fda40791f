"""``kcc demo`` for real (a subprocess on the sandbox): its scripted citizens walk the IVR
as citizens do — municipality on the shared number, subjects by key, zaak status with
zaaknummer + postcode + house number, hours/address and hang up, call-back requests,
giving up while waiting — and Ctrl-C stops it cleanly, without a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from harness import wait_for

from tests.throwaway_db import drop, dsn_of

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
DB = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_demo"


def _demo_config(base: Path, out: Path, http_offset: int) -> None:
    text = base.read_text(encoding="utf-8")
    port = next(int(line.split("=")[1].split("#")[0]) for line in text.splitlines()
                if line.startswith("http_port") and "8" in line)
    text = text.replace(f"http_port = {port}", f"http_port = {port + http_offset}", 1)
    text = text.replace('prefix = "kcc:"', f'prefix = "kccdemo{uuid.uuid4().hex[:6]}:"')
    out.write_text(text, encoding="utf-8")


async def _sessions(dsn: str) -> list[dict]:
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError):
        return []
    try:
        return [dict(r) for r in await conn.fetch(
            """SELECT s.outcome, s.municipality, s.subject, s.caller_number,
                      array_agg(c.kind || ':' || c.outcome) FILTER (WHERE c.id IS NOT NULL)
                          AS contacts
                 FROM ivr_sessions s LEFT JOIN ivr_contacts c ON c.uniqueid = s.uniqueid
                GROUP BY s.uniqueid""")]
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()


async def test_demo_citizens_walk_the_ivr_and_ctrl_c_stops_cleanly(sandbox, tmp_path):
    config = tmp_path / "demo.toml"
    _demo_config(Path(os.environ.get("KCC_TEST_CONFIG") or REPO / "config/demo.toml"),
                 config, 103)
    await drop(DB)
    env = {**os.environ, "KCC_DEMO": "1", "KCC_DATABASE_URL": dsn_of(DB)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "telephony.cli", "demo", "--config", str(config),
        "--interval", "1.5", cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        def varied(rows: list[dict]) -> bool:
            outcomes = {r["outcome"] for r in rows}
            contacts = {c for r in rows for c in (r["contacts"] or [])}
            return (len(rows) >= 12 and "queue" in outcomes
                    and any(c.endswith(":answered") for c in contacts))

        rows = await wait_for(lambda: _sessions(dsn_of(DB)), timeout=120, what="sessions")
        rows = await wait_for(lambda: _check(_sessions(dsn_of(DB)), varied), timeout=180,
                              what="a varied demo day")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        await drop(DB)
    text = out.decode() + err.decode()
    assert proc.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert "kcc demo stopped" in out.decode()
    # Citizens chose a municipality on the shared 14 0180 and subjects by key.
    assert {r["municipality"] for r in rows} >= {"gouda"}
    assert {r["municipality"] for r in rows} & {"zuidplas", "krimpenerwaard"}
    assert len({r["subject"] for r in rows if r["outcome"] == "queue"}) >= 2
    assert not any(r["outcome"] == "agent_after_tries" for r in rows), \
        "every scripted citizen answers the menus"
    # The scripted agents were logged out again (no Local agent left in the queues).
    status = await ami_queue_members(sandbox)
    assert "kcc-test-agent" not in status, status


async def ami_queue_members(_sandbox: str) -> str:
    from telephony import sandbox as sandbox_mod

    return await asyncio.to_thread(sandbox_mod.cli, "queue show")


async def _check(rows_coro, predicate):
    rows = await rows_coro
    return rows if predicate(rows) else None
