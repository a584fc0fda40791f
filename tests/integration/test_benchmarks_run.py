"""The benchmarks still run (issue 15): short forms, checked for output, not for speed.

Figures come from the full runs (README, "Measuring"); here a benchmark that broke with a
refactor fails the suite instead of being found broken on the day it is needed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from harness import TEST_DSN

from tests.conftest import TEST_CONFIG

REPO = Path(__file__).resolve().parents[2]


def test_bench_ami_runs() -> None:
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_ami.py"),
                          "--repeat", "2"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    ratio = re.search(r"ratio kcc / panoramisk\s*:\s*([0-9.]+)", out)
    assert ratio and float(ratio.group(1)) > 0, out
    assert re.search(r"kcc parse\+model\+events\s*:\s*[0-9,]+ events/s", out), out


def test_bench_sipp_runs(sandbox: str) -> None:
    """5 calls/s for 2 s through trunk -> FastAGI -> queue, the service as its own
    process on the test database and a fresh Redis prefix."""
    env = {**os.environ, "KCC_DATABASE_URL": TEST_DSN}
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_sipp.py"), "--config",
         str(TEST_CONFIG), "--rates", "5", "--seconds", "2",
         "--redis-prefix", f"kccb{uuid.uuid4().hex[:6]}:"],
        capture_output=True, text=True, timeout=120, env=env, check=True).stdout
    row = re.search(r"^\s*5\s+10\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)$",
                    out, re.MULTILINE)
    assert row, out
    ok, failed = int(row.group(1)), int(row.group(2))
    assert (ok, failed) == (10, 0), out
    assert float(row.group(3)) > 0 and float(row.group(4)) > 0, out
