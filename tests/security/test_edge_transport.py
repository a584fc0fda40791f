"""Finding 9: tokens, BSN searches and SIP passwords never cross a network in clear, and
a page can connect to its own origin and the softphone's WSS only.

Attacks: the service bound to a public address on plain HTTP (a neighbour on the network
reads bearer tokens); a script slipped into a page sends data to any ``ws:``/``wss:``
host (the old CSP allowed every one); a forged Host header tries to write into the CSP.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import aiohttp
import pytest
from harness import Harness, _test_config

from telephony.config import ConfigError, parse_config
from telephony.transport import self_signed

pytestmark = [pytest.mark.asterisk]
REPO = Path(__file__).resolve().parents[2]
DEMO = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")


def _with_service(extra: str) -> str:
    return DEMO.replace("[service]\n", "[service]\n" + extra, 1)


def test_plain_http_on_a_public_address_is_refused_at_load() -> None:
    text = _with_service('http_host = "0.0.0.0"\n').replace('http_host = "127.0.0.1"\n', "", 1)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "kcc.toml")
    problem = info.value.problems[0]
    assert re.match(r"kcc\.toml:\d+: service\.http_host: plain HTTP", problem), problem
    ok = text.replace("[service]\n", "[service]\nbehind_tls_proxy = true\n", 1)
    assert parse_config(ok).service.behind_tls_proxy
    half = _with_service('tls_cert = "/etc/kcc/cert.pem"\n')
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        parse_config(half)


async def test_service_serves_https_and_a_csp_with_only_its_wss(kcc_config, sandbox,
                                                                tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    config = _test_config(kcc_config, http_offset=137)
    config = config.model_copy(update={"service": config.service.model_copy(
        update={"tls_cert": str(cert), "tls_key": str(key)})})
    h = Harness(config)
    await h.start()
    port = config.service.http_port
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"https://127.0.0.1:{port}/", ssl=trust) as r:
                assert r.status == 200
                csp = r.headers["Content-Security-Policy"]
            connect = next(p for p in csp.split(";") if "connect-src" in p).split()
            wss = f"wss://127.0.0.1:{config.asterisk.wss_port}"
            assert connect == ["connect-src", "'self'", wss], csp
            # A forged Host header cannot write into the policy.
            async with http.get(f"https://127.0.0.1:{port}/wallboard", ssl=trust,
                                headers={"Host": "evil.example;script-src *"}) as r:
                forged = r.headers.get("Content-Security-Policy", "")
                assert "evil" not in forged and "script-src *" not in forged
            # The same port does not speak plain HTTP: nothing goes out in clear.
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    await r.read()
    finally:
        await h.stop()
