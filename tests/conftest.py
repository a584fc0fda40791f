"""Fixtures every suite against the real parts shares: the config and the sandbox.

The config is ``config/demo.toml`` unless ``KCC_TEST_CONFIG`` names another (with
``KCC_SANDBOX_DIR``: a second sandbox with its own ports, see README "Testing"). The
sandbox Asterisk is brought up once per session; when it cannot be, the tests FAIL: a
skipped integration suite looks green in CI while nothing was tested.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from telephony import sandbox as sandbox_mod
from telephony.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = Path(os.environ.get("KCC_TEST_CONFIG") or REPO / "config" / "demo.toml")


@pytest.fixture(scope="session")
def kcc_config() -> Config:
    os.environ["KCC_DEMO"] = "1"
    return load_config(TEST_CONFIG)


@pytest.fixture(scope="session")
def sandbox(kcc_config: Config) -> str:
    try:
        return sandbox_mod.up(kcc_config)
    except sandbox_mod.SandboxError as exc:
        pytest.fail(f"the sandbox Asterisk could not be brought up:\n{exc}", pytrace=False)
