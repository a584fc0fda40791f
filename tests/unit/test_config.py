"""Municipality config: the demo loads; mistakes name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.config import ConfigError, load_config, normalise_number, parse_config

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


@pytest.fixture(autouse=True)
def _demo_env(monkeypatch):
    monkeypatch.setenv("KCC_DEMO", "1")


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "kcc.toml")
    return info.value.problems


def test_demo_config_loads():
    config = load_config(DEMO)
    assert {n.digits for n in config.numbers} == {"140180", "140182"}
    assert config.number_for_digits("140180").municipalities == ["zuidplas", "krimpenerwaard"]
    assert config.number_for_digits("+31140182").municipalities == ["gouda"]
    assert config.general_queue.id == "algemeen"
    assert config.kcc.max_transfers == 1


def test_error_names_line_and_key():
    text = DEMO.read_text().replace('ring_timeout = 15\nwrapup_seconds = 20',
                                    'ring_timeout = 1\nwrapup_seconds = 20')
    line = text.splitlines().index("ring_timeout = 1") + 1
    problems = _problems(text)
    assert problems == [f"kcc.toml:{line}: queues[2].ring_timeout: "
                        "Input should be greater than or equal to 3"]


def test_misspelt_key_is_reported():
    text = DEMO.read_text().replace("max_transfers = 1", "max_transfer = 1")
    (problem,) = _problems(text)
    assert "kcc.max_transfer: unknown key" in problem and problem.startswith("kcc.toml:")


def test_unknown_municipality_reference():
    text = DEMO.read_text().replace('municipalities = ["gouda"]', 'municipalities = ["goud"]')
    (problem,) = _problems(text)
    assert "numbers[1].municipalities: unknown municipality 'goud'" in problem


def test_bad_number_and_syntax():
    text = DEMO.read_text().replace('number = "14 0182"', 'number = "14 01x"')
    assert "numbers[1].number: not" in _problems(text)[0]
    (problem,) = _problems("[kcc\nname=1")
    assert problem.startswith("kcc.toml:1: TOML syntax error")


def test_exactly_one_general_queue():
    text = DEMO.read_text().replace("general = true", "general = false")
    assert "exactly one queue must have general = true" in _problems(text)[0]


def test_secret_required_outside_demo(monkeypatch):
    monkeypatch.delenv("KCC_DEMO")
    monkeypatch.delenv("KCC_AMI_SECRET", raising=False)
    config = load_config(DEMO)
    with pytest.raises(ConfigError, match="KCC_AMI_SECRET"):
        config.ami_secret()
    monkeypatch.setenv("KCC_AMI_SECRET", "s3cret")
    assert config.ami_secret() == "s3cret"


def test_unreadable_file(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize("raw,e164", [
    ("14 0180", "+31140180"), ("0612345678", "+31612345678"), ("+31612345678", "+31612345678"),
    ("0031612345678", "+31612345678"), ("0182 123456", "+31182123456"),
    ("+49 30 123456", "+4930123456"),
])
def test_normalise_number(raw, e164):
    assert normalise_number(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "112", "06123", "+31 6 1234 5678 999 999"])
def test_normalise_number_rejects(raw):
    with pytest.raises(ValueError):
        normalise_number(raw)


@pytest.mark.parametrize("bad", [
    '["10.0.0.1:4573)"]', '["10.0.0.1"]', '["a:99999"]', '["h:1", "h:1"]',
    '["x:1,System(rm)"]',
])
def test_agi_servers_refuse_what_could_break_the_dialplan(bad: str):
    """They are pasted into AGI(agi://...): only host:port, each once."""
    text = DEMO.read_text().replace('agi_url_host = "127.0.0.1"',
                                    f'agi_url_host = "127.0.0.1"\nagi_servers = {bad}')
    line = text.splitlines().index(f"agi_servers = {bad}") + 1
    (problem,) = _problems(text)
    assert problem.startswith(f"kcc.toml:{line}: asterisk.agi_servers"), problem


def test_agi_servers_render_in_order_with_failover():
    from telephony.asterisk_conf import render

    text = DEMO.read_text().replace(
        'agi_url_host = "127.0.0.1"',
        'agi_url_host = "127.0.0.1"\nagi_servers = ["10.0.0.1:4573", "10.0.0.2:4573"]')
    dialplan = render(parse_config(text, "kcc.toml"))["extensions.conf"]
    first = dialplan.index("AGI(agi://10.0.0.1:4573/inbound,")
    second = dialplan.index("AGI(agi://10.0.0.2:4573/inbound,")
    assert first < dialplan.index('"${AGISTATUS}" != "FAILURE"]?agi_done', first) < second
