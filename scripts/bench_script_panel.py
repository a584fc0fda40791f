#!/usr/bin/env python3
"""Call-script step -> the server's acknowledgement, as the agent's panel sees it.

    KCC_DEMO=1 .venv/bin/python scripts/bench_script_panel.py --config config/demo.toml \
        [--steps 40]

Runs the service on the sandbox (its own Redis prefix, the test database named by
KCC_TEST_DATABASE, as the integration harness does), opens the
agent panel in headless Chromium as zoe, queues one long call she answers, and then
answers the script's first question ``--steps`` times (an answer may be changed until the
outcome is registered). The panel measures each step from the click's request to the
rendered answer with ``performance.now()`` (``kccPanel.scriptAcks``): HTTP, the rules and
PostgreSQL in one locked transaction, and the page's own work. Prints median, p90, p99
and max.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO))

from harness import Harness, _test_config, hangup_all, wait_for  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402

FLAGS = ["--headless=new", "--no-sandbox", "--ignore-certificate-errors"]


def figures(name: str, samples: list[float]) -> str:
    s = sorted(samples)
    return (f"{name}: n={len(s)} median {statistics.median(s):.1f} ms, "
            f"p90 {s[int(len(s) * 0.9)]:.1f} ms, p99 {s[min(len(s) - 1, int(len(s) * 0.99))]:.1f}"
            f" ms, max {s[-1]:.1f} ms")


async def main() -> None:
    from playwright.async_api import async_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    base = load_config(args.config)
    await asyncio.to_thread(sandbox.up, base)
    h = Harness(_test_config(base))
    await h.start()
    await hangup_all(h)
    url = f"http://127.0.0.1:{h.config.service.http_port}/"
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"),
                                               args=FLAGS)
            page = await (await browser.new_context()).new_page()
            await page.goto(url)
            await page.fill("#login-user", "zoe")
            await page.fill("#login-pass", "demo-zoe")
            await page.click("#login-submit")
            await page.wait_for_selector("#panel-view:not([hidden])")
            await page.click("#btn-available")
            await h.service.link.action(
                "Originate", Channel="Local/algemeen@kcc-queue", Application="Wait",
                Data="300", CallerID='"Bench Script" <0612345678>', Async="true",
                timeout=10)
            await page.wait_for_selector("#script-card:not([hidden])", timeout=30_000)
            for i in range(args.steps):
                await page.fill("#script-input-vraag", f"vraag {i}")
                await page.click("button[data-answer=vraag]")
                await wait_for(lambda i=i: page.evaluate(
                    f"window.kccPanel.scriptAcks.length > {i}"), what="ack")
            acks = await page.evaluate("window.kccPanel.scriptAcks")
            await browser.close()
        print(figures("panel step -> server acknowledgement", acks))
    finally:
        await hangup_all(h)
        await h.service.acd.logout("zoe")
        await h.stop()


if __name__ == "__main__":
    asyncio.run(main())
