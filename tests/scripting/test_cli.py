"""``kcc scripts``: import (all files checked first), list, export round trip."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.cli import main
from telephony.scripting.toml_io import parse_script
from tests.throwaway_db import create, drop, dsn_of

REPO = Path(__file__).resolve().parents[2]
CONFIG = os.environ.get("KCC_TEST_CONFIG") or str(REPO / "config" / "demo.toml")
DB = f"{os.environ.get('KCC_TEST_DATABASE') or 'kcc_test'}_scripts_cli"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    asyncio.run(create(DB))
    monkeypatch.setenv("KCC_DEMO", "1")
    monkeypatch.setenv("KCC_DATABASE_URL", dsn_of(DB))
    yield DB
    asyncio.run(drop(DB))


def test_import_list_export(database: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "kapot.toml"
    bad.write_text('[script]\nsubject = "x"\ntitle = "X"\n\n[[steps]]\nid = "a"\n'
                   'kind = "ask"\ntext = "?"\n')
    afval = REPO / "config" / "scripts" / "afval.toml"
    # One bad file: nothing is stored, the problem names file, line and key.
    assert main(["scripts", "--config", CONFIG, "import", str(afval), str(bad)]) == 2
    assert "kapot.toml:5: steps[0]: an ask step needs answer" in capsys.readouterr().err
    assert main(["scripts", "--config", CONFIG, "list"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["scripts", "--config", CONFIG, "import", str(afval), "--by", "sylvia"]) == 0
    assert capsys.readouterr().out == "afval: version 1\n"
    out = tmp_path / "afval-export.toml"
    assert main(["scripts", "--config", CONFIG, "export", "afval", "--out", str(out)]) == 0
    assert parse_script(out.read_text()) == parse_script(afval.read_text())
    assert main(["scripts", "--config", CONFIG, "export", "nergens"]) == 2
