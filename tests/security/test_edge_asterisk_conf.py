"""Finding 10: the rendered Asterisk config opens no doors nobody watches.

Attacks: ChanSpy loaded on the PBX (one dialplan line or AMI Originate away from listening
to citizens); the scripted test contexts on a production PBX; config values that break
out of their line in a .conf file (a ``]``, ``;`` or newline in ami_user, sip_bind,
agi_url_host); the demo's public secrets with a real trunk; caller names and numbers in
Asterisk's own log at the production level.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telephony import sandbox as sandbox_mod
from telephony.asterisk_conf import render
from telephony.config import ConfigError, parse_config

pytestmark = [pytest.mark.asterisk]
REPO = Path(__file__).resolve().parents[2]
DEMO = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")


def _asterisk(key: str, value: str) -> str:
    text = re.sub(rf"(?m)^{key} = .*\n", "", DEMO.split("[asterisk]", 1)[1], count=1)
    return DEMO.split("[asterisk]", 1)[0] + f"[asterisk]\n{key} = {value}" + text


@pytest.mark.parametrize(("key", "value"), [
    ("ami_user", '"kcc]\\n[admin"'), ("ami_user", '"kcc;x"'),
    ("sip_bind", '"0.0.0.0:5060\\nexternal_media_address = 1.2.3.4"'),
    ("sip_bind", '"pbx.example.nl"'),
    ("agi_url_host", '"10.0.0.5/inbound,evil)"'), ("agi_url_host", '"host name"')])
def test_values_that_would_break_a_conf_line_are_refused_by_name(key: str, value: str,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("KCC_DEMO", "1")
    with pytest.raises(ConfigError) as info:
        parse_config(_asterisk(key, value), "kcc.toml")
    assert re.match(rf"kcc\.toml:\d+: asterisk\.{key}: ", info.value.problems[0]), \
        info.value.problems


def test_demo_secrets_are_refused_with_a_real_trunk(monkeypatch) -> None:
    text = _asterisk("trunk_match", '["192.0.2.10"]')
    monkeypatch.setenv("KCC_DEMO", "1")
    with pytest.raises(ConfigError, match=r"asterisk\.trunk_match\[0\]: KCC_DEMO=1"):
        parse_config(text, "kcc.toml")
    monkeypatch.delenv("KCC_DEMO")
    assert parse_config(text).asterisk.trunk_match == ["192.0.2.10"]


def test_production_render_has_no_spy_no_test_contexts_no_caller_data_in_logs(
        kcc_config) -> None:
    prod = render(kcc_config)
    assert "noload => app_chanspy.so" in prod["modules.conf"]
    assert not re.search(r"(?m)^load => app_chanspy", prod["modules.conf"])
    assert "[kcc-test-" not in prod["extensions.conf"]
    assert "verbose" not in prod["logger.conf"].split("[logfiles]", 1)[1].split(";")[0]
    assert not re.search(r"(?m)^messages\.log => .*verbose", prod["logger.conf"])
    assert not re.search(r"NoOp\([^)]*CALLERID\((name|num)\)", prod["extensions.conf"])
    sandbox = render(kcc_config, sandbox=True)
    assert "[kcc-test-agent]" in sandbox["extensions.conf"]


def test_the_running_sandbox_has_no_chanspy(sandbox: str) -> None:
    out = sandbox_mod.cli("module show like chanspy")
    assert "0 modules loaded" in out, out
    assert "ChanSpy" not in sandbox_mod.cli("core show applications like Spy")
