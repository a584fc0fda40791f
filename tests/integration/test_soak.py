"""The soak's short form (scripts/soak.py runs the hour): one minute of steady traffic
through the real sandbox, and no growth trend in memory, file descriptors or tasks.

Why one minute and these bounds: the suite must stay short on 2 cores; a leak of one
task, one fd or ~50 kB per call shows within 60 calls. The bounds compare the median of
the first and the last 15 s (steady traffic: the same number of calls in flight), so
the calls' own tasks and sockets do not count as growth.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

import pytest
from harness import TEST_DB

pytestmark = pytest.mark.asterisk

SOAK = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"


def _load_soak():
    spec = importlib.util.spec_from_file_location("kcc_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def test_one_minute_soak_shows_no_growth(kcc_config, sandbox):
    soak = _load_soak()
    config = soak.soak_config(kcc_config, TEST_DB)
    config = config.model_copy(update={"service": config.service.model_copy(
        update={"http_port": config.service.http_port + 105})})
    result = await soak.soak(config, seconds=60, rate=1.0, sample_every=2.5)
    assert result.calls >= 55 and result.ended >= result.calls - 2, \
        f"{result.ended} of {result.calls} calls ended"
    first, last = result.window(True, 15), result.window(False, 15)

    def med(samples, attr):
        return statistics.median(getattr(s, attr) for s in samples)

    # warm-up (imports, pools, first prompts) is over after the first minute's start:
    # bounds are generous for noise, far below what a per-call leak adds over 60 calls.
    assert med(last, "tasks") <= med(first, "tasks") + 10, soak.summary(result)
    assert med(last, "fds") <= med(first, "fds") + 10, soak.summary(result)
    assert med(last, "rss_mb") <= med(first, "rss_mb") + 15, soak.summary(result)
