#!/usr/bin/env python3
"""Agent panel figures in headless Chromium against the sandbox: load size and time,
AgentCalled -> pop painted, hold click -> Asterisk's Hold event.

    KCC_DEMO=1 .venv/bin/python scripts/bench_panel.py --config config/demo.toml --runs 10

* load: a fresh browser context opens ``/`` and logs in; bytes are the encoded bodies of
  the document and every resource (JsSIP apart), time is the navigation's loadEventEnd;
* pop: zoe's phone is a scripted Local agent that rings and never answers; per call,
  from the AgentCalled event's Asterisk timestamp to the animation frame that painted the
  pop (epoch time in the page; same machine, same clock);
* hold: zoe's browser softphone answers an Echo caller; per click on Wachtstand, from the
  click (epoch in the page) to the Hold event's Asterisk timestamp.
Prints medians (and p90/max) of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO))

from harness import Harness, _test_config, hangup_all, wait_for  # noqa: E402

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402
from tests.browser.ami_tap import AmiTap  # noqa: E402
from tests.browser.conftest import CHROMIUM_FLAGS  # noqa: E402

PAINTED = """() => new Promise((done) => {
  const card = document.getElementById("pop-card");
  const seen = () => !card.hidden && card.dataset.linkedid;
  const fire = () => requestAnimationFrame(() =>
    done([card.dataset.linkedid, performance.timeOrigin + performance.now()]));
  new MutationObserver((_m, obs) => { if (seen()) { obs.disconnect(); fire(); } })
    .observe(card, {attributes: true, childList: true});
})"""
CLICK_HOLD = """() => { const t = performance.timeOrigin + performance.now();
  document.getElementById("sp-hold").click(); return t; }"""
SIZES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  let total = nav.encodedBodySize, jssip = 0;
  for (const r of performance.getEntriesByType("resource")) {
    total += r.encodedBodySize;
    if (r.name.includes("jssip")) jssip += r.encodedBodySize;
  }
  return {total, jssip, load: nav.loadEventEnd};
}"""


def summary(name: str, values: list[float], unit: str = "ms") -> str:
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    return (f"{name}: median {statistics.median(values):.0f} {unit}, p90 {p90:.0f} {unit}, "
            f"max {values[-1]:.0f} {unit} over {len(values)}")


async def purge(h: Harness, login: str) -> None:
    """Take every phone of ``login`` out of every queue (a leftover of an earlier run
    with another endpoint would keep them "available" to the panel)."""
    for queue in h.config.queues:
        for iface in (f"Local/{login}@kcc-test-agent", f"PJSIP/agent-{login}",
                      f"Local/{login}@kcc-test-agent-noanswer"):
            await asyncio.to_thread(sandbox.cli, f"queue remove member {iface} from "
                                                 f"{queue.id}", check=False)
    await wait_for(lambda: h.service.acd.state_of(login)["state"] == "logged_out",
                   timeout=10, what=f"{login} out of the queues")


async def login(browser, base: str, who: str):
    context = await browser.new_context(ignore_https_errors=True)
    page = await context.new_page()
    await page.goto(base + "/")
    await page.fill("#login-user", who)
    await page.fill("#login-pass", f"demo-{who}")
    await page.click("#login-submit")
    await page.wait_for_selector("#panel-view:not([hidden])")
    return context, page


async def main() -> None:
    from playwright.async_api import async_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    base_cfg = load_config(args.config)
    await asyncio.to_thread(sandbox.up, base_cfg)
    h = Harness(_test_config(base_cfg))
    await h.start()
    base = f"http://127.0.0.1:{h.config.service.http_port}"
    acd = h.service.acd
    try:
        async with async_playwright() as pw, AmiTap(h.config) as tap:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                               args=CHROMIUM_FLAGS)
            # --- load
            sizes = []
            for _ in range(args.runs):
                context, page = await login(browser, base, "anna")
                sizes.append(await page.evaluate(SIZES))
                await context.close()
            total = statistics.median(s["total"] for s in sizes) / 1024
            jssip = statistics.median(s["jssip"] for s in sizes) / 1024
            print(f"panel load: {total:.0f} KiB ({jssip:.0f} KiB of it JsSIP); "
                  + summary("load event", [s["load"] for s in sizes]))

            # --- pop painted after AgentCalled
            await acd.ensure_demo_agents(endpoint_template="Local/{login}@kcc-test-agent-noanswer")
            await purge(h, "zoe")
            context, page = await login(browser, base, "zoe")
            await page.click("#btn-available")
            await wait_for(lambda: acd.state_of("zoe")["state"] == "available", what="avail")
            pops = []
            for i in range(args.runs):
                painted = asyncio.ensure_future(page.evaluate(PAINTED))
                await h.service.link.action(
                    "Originate", Channel="Local/algemeen@kcc-queue", Application="Wait",
                    Data="20", CallerID=f'"Bench {i}" <0612345678>', Async="true", timeout=10)
                linkedid, at = await asyncio.wait_for(painted, 15)
                _, called = await tap.wait(lambda e, lid=linkedid: e.get("Event") ==
                                           "AgentCalled" and e.get("Linkedid") == lid,
                                           timeout=5, what="AgentCalled")
                pops.append(at - float(called["Timestamp"]) * 1000)
                await hangup_all(h)
                await wait_for(lambda: acd.state_of("zoe")["state"] != "ringing",
                               timeout=15, what="the ring ended")
                if acd.state_of("zoe")["state"] != "available":  # the no-answer policy
                    await acd.resume("zoe")
                await wait_for(lambda: acd.state_of("zoe")["state"] == "available",
                               timeout=15, what=f"zoe available ({acd.state_of('zoe')})")
                await page.evaluate("document.getElementById('pop-card').hidden = true")
            print(summary("AgentCalled -> pop painted", pops))
            await context.close()

            # --- hold click -> Hold event
            await acd.ensure_demo_agents(endpoint_template="PJSIP/agent-{login}")
            await purge(h, "zoe")
            context, page = await login(browser, base, "zoe")
            await wait_for(lambda: page.evaluate("window.kccSoftphone.status === "
                                                 "'registered'"), what="registered")
            await page.click("#btn-available")
            await wait_for(lambda: acd.state_of("zoe")["state"] == "available", what="avail")
            await h.service.link.action(
                "Originate", Channel="Local/algemeen@kcc-queue", Application="Echo",
                CallerID='"Bench hold" <0612345678>', Async="true", timeout=10)
            await wait_for(lambda: page.evaluate("document.getElementById('sp-hold')"
                                                 ".disabled === false"), what="in call")
            holds = []
            for _ in range(args.runs):
                for event in ("Hold", "Unhold"):
                    since = asyncio.get_running_loop().time()
                    clicked = await page.evaluate(CLICK_HOLD)
                    _, got = await tap.wait(lambda e, ev=event: e.get("Event") == ev
                                            and e.get("Channel", "").startswith(
                                                "PJSIP/agent-zoe-"),
                                            timeout=10, what=event, since=since)
                    if event == "Hold":
                        holds.append(float(got["Timestamp"]) * 1000 - clicked)
                    await asyncio.sleep(0.3)
            print(summary("hold click -> Asterisk Hold event", holds))
            await hangup_all(h)
            await context.close()
            await browser.close()
    finally:
        await purge(h, "zoe")
        await h.stop()


if __name__ == "__main__":
    asyncio.run(main())
