"""``kcc agents`` against the real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kcc(*args: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KCC_DEMO": "1", "KCC_DATABASE_URL": dsn}
    return subprocess.run([sys.executable, "-m", "telephony.cli", "agents", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def dsn():
    name = f"kcc_cli_{uuid.uuid4().hex[:8]}"
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"

    async def drop():
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    import asyncio

    asyncio.run(drop())


def test_agents_cli_roundtrip_and_errors(dsn):
    ok = kcc("add", "piet", "--name", "Piet Çelik", "--skill", "afval=7", "--skill",
             "algemeen=3", dsn=dsn)
    assert ok.returncode == 0, ok.stderr
    dup = kcc("add", "piet", "--name", "x", dsn=dsn)
    assert dup.returncode == 2 and "exists" in dup.stderr
    bad = kcc("add", "kees", "--name", "x", "--skill", "nope=3", dsn=dsn)
    assert bad.returncode == 2 and "no queue 'nope'" in bad.stderr
    level = kcc("skills", "piet", "--skill", "afval=11", dsn=dsn)
    assert level.returncode == 2 and "1..10" in level.stderr
    assert kcc("skills", "piet", "--skill", "afval=8", dsn=dsn).returncode == 0
    listing = kcc("list", dsn=dsn)
    assert "piet" in listing.stdout and "afval=8" in listing.stdout
    assert "algemeen" not in listing.stdout
    assert kcc("remove", "piet", dsn=dsn).returncode == 0
    assert "(inactive)" in kcc("list", dsn=dsn).stdout
    gone = kcc("remove", "nobody", dsn=dsn)
    assert gone.returncode == 2 and "no agent" in gone.stderr
