"""Rendering the Asterisk config from the KCC config (no Asterisk needed).

The integration tests run the rendered files on a real Asterisk; these pin down what the
files must say for any config, including ones the demo does not exercise.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telephony.asterisk_conf import agent_sip_password, number_extensions, render, write_rendered
from telephony.config import Config, ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "demo.toml"

SMALL = """
[kcc]
name = "Test KCC"
[[municipalities]]
id = "gouda"
name = "Gemeente Gouda"
[[numbers]]
number = "14 0182"
municipalities = ["gouda"]
[[queues]]
id = "algemeen"
name = "Algemeen"
general = true
max_wait_seconds = 600
[[queues]]
id = "wmo-zorg"
name = "Wmo; zorg"
ring_timeout = 20
wrapup_seconds = 10
service_level_seconds = 30
[[agents]]
login = "piet"
name = "Piet \\"P\\" <Jansen>; x"
"""


@pytest.fixture(autouse=True)
def demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCC_DEMO", "1")
    monkeypatch.delenv("KCC_AMI_SECRET", raising=False)
    monkeypatch.delenv("KCC_SIP_SECRET", raising=False)


@pytest.fixture
def demo() -> Config:
    return load_config(DEMO)


def sections(text: str) -> dict[str, list[str]]:
    """Lines per [section] (comments and blanks dropped); repeated names are merged."""
    out: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip() if not raw.strip().startswith("exten") else raw
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line)
        if match:
            current = match.group(1)
            out.setdefault(current, [])
        else:
            out.setdefault(current, []).append(line)
    return out


def extens(context_lines: list[str]) -> set[str]:
    return {m.group(1) for line in context_lines
            if (m := re.match(r"exten\s*=>\s*([^,]+),", line))}


def test_renders_every_file(demo: Config) -> None:
    files = render(demo)
    for name in ("asterisk.conf", "logger.conf", "modules.conf", "pjsip.conf", "http.conf",
                 "extensions.conf", "queues.conf", "manager.conf", "musiconhold.conf",
                 "rtp.conf", "features.conf"):
        assert name in files, name
        assert "{{" not in files[name] and "{%" not in files[name]


def test_demo_contexts_numbers_and_queues(demo: Config) -> None:
    ext = sections(render(demo, sandbox=True)["extensions.conf"])
    for context in ("kcc-inbound", "kcc-route", "kcc-queue", "kcc-queue-end", "kcc-unknown",
                    "kcc-agents", "kcc-test-agent", "kcc-test-caller"):
        assert context in ext, context
    inbound = extens(ext["kcc-inbound"])
    assert {"140180", "31140180", "+31140180", "140182", "31140182", "+31140182"} <= inbound
    assert "Set(__KCC_DIALLED=+31140180)" in "\n".join(ext["kcc-inbound"])
    assert extens(ext["kcc-queue"]) == {"algemeen", "burgerzaken", "afval", "belastingen"}
    assert extens(ext["kcc-agents"]) == {"agent-anna", "agent-mehmet", "agent-zoe",
                                         "agent-sanne"}, "no softphone for the admin"
    route = "\n".join(ext["kcc-route"])
    assert "AGI(agi://127.0.0.1:4573/inbound,${KCC_DIALLED})" in route
    assert "Queue(algemeen,t,,,900)" in "\n".join(ext["kcc-queue"])

    queues = sections(render(demo)["queues.conf"])
    assert set(queues) == {"general", "algemeen", "burgerzaken", "afval", "belastingen"}
    assert "wrapuptime = 3" in queues["afval"] and "servicelevel = 25" in queues["afval"]
    for q in ("algemeen", "afval"):
        for setting in ("timeout = 15", "joinempty = yes", "leavewhenempty = no",
                        "ringinuse = no", "setinterfacevar = yes", "setqueueentryvar = yes",
                        "announce-position = no", "musicclass = default",
                        f"periodic-announce = kcc/wait-{q}", "context = kcc-queue-exit"):
            assert setting in queues[q], (q, setting)


def test_pjsip_trunk_and_webrtc_agents(demo: Config) -> None:
    pjsip = render(demo)["pjsip.conf"]
    assert "bind = 127.0.0.1:5060" in pjsip and "protocol = wss" in pjsip
    assert "match = 127.0.0.1" in pjsip and "dtmf_mode = rfc4733" in pjsip
    assert "context = kcc-inbound" in pjsip and "context = kcc-agents" in pjsip
    for login in ("anna", "mehmet", "zoe", "sanne"):
        assert f"[agent-{login}]" in pjsip
    assert "[agent-beheer]" not in pjsip
    assert pjsip.count("webrtc = yes") == 4 and pjsip.count("max_contacts = 5") == 4
    # Each agent has an own password (derived from the master secret, never the master).
    assert "kcc-demo-sip" not in pjsip
    passwords = {login: agent_sip_password(login) for login in ("anna", "mehmet", "zoe",
                                                                 "sanne")}
    assert len(set(passwords.values())) == 4
    for password in passwords.values():
        assert pjsip.count(f"password = {password}") == 1
    http = render(demo)["http.conf"]
    assert "bindport = 8088" in http and "tlsbindaddr = 127.0.0.1:8089" in http


def test_manager_limited_user_and_channelvars(demo: Config) -> None:
    manager = sections(render(demo)["manager.conf"])
    assert ("channelvars = KCC_DIALLED,KCC_QUEUE,KCC_SUBJECT,KCC_LANG,KCC_MUNICIPALITY,"
            "KCC_ZAAKNUMMER,KCC_TRANSCRIPT,KCC_CALLBACK") in manager["general"]
    user = manager["kcc"]
    assert "secret = kcc-demo-secret" in user
    assert "permit = 127.0.0.1/255.255.255.255" in user
    write = next(line for line in user if line.startswith("write"))
    classes = set(write.split("=", 1)[1].replace(" ", "").split(","))
    assert classes == {"call", "agent", "user", "originate", "reporting"}
    assert not classes & {"system", "command", "config", "all"}


def test_modules_autoload_off(demo: Config) -> None:
    modules = render(demo)["modules.conf"]
    assert "autoload = no" in modules
    for mod in ("app_queue", "res_agi", "chan_pjsip", "app_mixmonitor", "app_userevent",
                "res_http_websocket", "res_pjsip_transport_websocket", "res_srtp"):
        assert f"load => {mod}.so" in modules


def test_queue_outside_whitelist_cannot_be_reached() -> None:
    """KCC_QUEUE only reaches kcc-queue extensions, and those are the configured queues."""
    config = parse_config(SMALL)
    ext = sections(render(config)["extensions.conf"])
    assert extens(ext["kcc-queue"]) == {"algemeen", "wmo-zorg"}
    # Demo queues that this site does not have are not reachable at all.
    whole = render(config)["extensions.conf"]
    assert "burgerzaken" not in whole and "afval" not in whole
    # Every dialplan line that jumps on KCC_QUEUE is guarded by the whitelist checks, in
    # that order: AGI succeeded, value shaped like a queue id, extension exists.
    route = ext["kcc-route"]
    uses = [i for i, line in enumerate(route) if "kcc-queue,${KCC_QUEUE}" in line]
    guard_status = next(i for i, line in enumerate(route) if "AGISTATUS" in line)
    guard_shape = next(i for i, line in enumerate(route) if "REGEX" in line)
    assert uses and all(guard_status < guard_shape < i for i in uses)
    for i in uses:
        assert "DIALPLAN_EXISTS(kcc-queue,${KCC_QUEUE},1)" in route[i]
        assert "?kcc-queue,${KCC_QUEUE},1" in route[i]
    assert "Goto(kcc-queue,${KCC_GENERAL_QUEUE},1)" in route[-1]
    # No pattern in kcc-queue: a pattern would let an unconfigured value match.
    assert not any(e.startswith("_") for e in extens(ext["kcc-queue"]))
    assert "KCC_GENERAL_QUEUE = algemeen" in ext["globals"]
    assert "Queue(algemeen,t,,,600)" in "\n".join(ext["kcc-queue"])


def test_free_text_cannot_inject_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCC_SIP_SECRET", "a;b")
    files = render(parse_config(SMALL))
    assert 'callerid = "Piet P Jansen\\; x" <piet>' in files["pjsip.conf"]
    assert f"password = {agent_sip_password('piet')}" in files["pjsip.conf"]
    assert "; Wmo\\; zorg" in files["queues.conf"]


def test_special_queue_id_is_refused() -> None:
    text = SMALL.replace('id = "wmo-zorg"', 'id = "h"')
    with pytest.raises(ValueError, match="special Asterisk extension"):
        render(parse_config(text))


def test_secrets_required_outside_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KCC_DEMO")
    monkeypatch.setenv("KCC_AMI_SECRET", "ami-s3cret")
    with pytest.raises(ConfigError, match="KCC_SIP_SECRET"):
        render(parse_config(SMALL))
    monkeypatch.setenv("KCC_SIP_SECRET", "sip-s3cret")
    files = render(parse_config(SMALL))
    assert "secret = ami-s3cret" in files["manager.conf"]
    assert "sip-s3cret" not in files["pjsip.conf"]
    assert f"password = {agent_sip_password('piet', 'sip-s3cret')}" in files["pjsip.conf"]
    assert agent_sip_password("piet", "other") != agent_sip_password("piet", "sip-s3cret")


def test_number_forms() -> None:
    assert number_extensions("+31140180", "140180") == ["140180", "31140180", "+31140180"]


def test_write_rendered_protects_secrets(demo: Config, tmp_path: Path) -> None:
    paths = write_rendered(demo, tmp_path / "out")
    names = {p.name for p in paths}
    assert "extensions.conf" in names
    assert (tmp_path / "out" / "manager.conf").stat().st_mode & 0o077 == 0
    assert (tmp_path / "out" / "pjsip.conf").stat().st_mode & 0o077 == 0
