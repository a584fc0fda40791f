"""Re-record the AMI event streams under tests/fixtures/ami/ from the real sandbox.

    .venv/bin/python scripts/record_ami_fixtures.py [--config config/demo.toml]

Each scenario drives the sandbox Asterisk with scripted callers (Originate of
``Local/<14 number>@kcc-inbound``) and scripted agents (queue members
``Local/<login>@kcc-test-agent``) and saves the raw bytes AMI sent, exactly as received,
to ``tests/fixtures/ami/<scenario>.ami``. The call-model unit tests replay these through
the same framing code the service uses. No FastAGI server runs while recording, so calls
take the dialplan's fallback to the general queue (that path is part of what is tested).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.ami.link import AmiLink  # noqa: E402
from telephony.config import Config, load_config  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "ami"
CALLER = '"Zoë Şahin-Çelik" <0612345678>'


async def _settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def _originate_caller(link: AmiLink, number: str, wait: int, callerid: str = CALLER,
                            ) -> None:
    await link.action("Originate", Channel=f"Local/{number}@kcc-inbound", Application="Wait",
                      Data=str(wait), CallerID=callerid, Async="true", timeout=10)


async def _member(link: AmiLink, queue: str, login: str, add: bool = True) -> None:
    if add:
        await link.action("QueueAdd", Queue=queue, Interface=f"Local/{login}@kcc-test-agent",
                          MemberName=login, Penalty="0", Paused="false")
    else:
        await link.action("QueueRemove", Queue=queue, Interface=f"Local/{login}@kcc-test-agent")


async def answered(link: AmiLink) -> None:
    """A caller on 14 0180 waits briefly, agent anna answers, the caller hangs up."""
    await _member(link, "algemeen", "anna")
    await _originate_caller(link, "140180", wait=8)
    await _settle(11)
    await _member(link, "algemeen", "anna", add=False)


async def abandoned(link: AmiLink) -> None:
    """Nobody is logged in; the caller gives up after 3 s in the queue."""
    await _originate_caller(link, "140182", wait=4)
    await _settle(6)


async def paused_agent(link: AmiLink) -> None:
    """An agent paused in Asterisk (reason 'overleg') does not get the call."""
    await _member(link, "algemeen", "mehmet")
    await link.action("QueuePause", Queue="algemeen", Interface="Local/mehmet@kcc-test-agent",
                      Paused="true", Reason="overleg")
    await _originate_caller(link, "140180", wait=4)
    await _settle(6)
    await link.action("QueuePause", Queue="algemeen", Interface="Local/mehmet@kcc-test-agent",
                      Paused="false")
    await _settle(1)
    await _member(link, "algemeen", "mehmet", add=False)


SCENARIOS: dict[str, Callable[[AmiLink], Awaitable[None]]] = {
    "answered": answered,
    "abandoned": abandoned,
    "paused_agent": paused_agent,
}


async def record(config: Config, names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        chunks: list[bytes] = []
        link = AmiLink(config.asterisk.ami_host, config.asterisk.ami_port,
                       config.asterisk.ami_user, config.ami_secret())
        link.tap = chunks.append
        link.start()
        await link.wait_connected(15)
        await _settle(1.0)  # let the resync answers arrive
        started = time.time()
        await SCENARIOS[name](link)
        await _settle(1.0)
        await link.stop()
        path = OUT / f"{name}.ami"
        path.write_bytes(b"".join(chunks))
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes, "
              f"{time.time() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "config" / "demo.toml"))
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    config = load_config(args.config)
    sandbox.up(config)
    asyncio.run(record(config, args.scenarios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
