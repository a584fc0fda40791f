"""Browser tests: real headless Chromium, the real service, the real sandbox Asterisk.

Reuses ``kcc_config`` and ``sandbox`` (tests/conftest.py) and the integration harness
(tests/integration/harness.py, put on sys.path: that directory is not a package). Run
beside another sandbox with KCC_SANDBOX_DIR, KCC_TEST_CONFIG and KCC_TEST_DATABASE.

Chromium is the Debian package (``scripts/bootstrap`` installs it), driven by Playwright
(``[test]`` extras) through ``executable_path``: no browser download. When either is
missing the tests FAIL, never skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = REPO / "tests" / "integration"
sys.path.insert(0, str(INTEGRATION))

from harness import Harness, _test_config, hangup_all, wait_for  # noqa: E402

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--ignore-certificate-errors",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  "--autoplay-policy=no-user-gesture-required",
                  # Loopback host candidates too: a machine whose only interface is lo
                  # (a CI container) otherwise gathers no ICE candidate and no audio flows.
                  "--allow-loopback-in-peer-connection"]
AGENTS = ("anna", "mehmet", "zoe")
MISSING_CHROMIUM = ("Chromium is not installed (looked for {where}). scripts/bootstrap installs "
                    "it (Debian package 'chromium'); or set KCC_CHROMIUM to a Chromium binary.")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    wanted = os.environ.get("KCC_CHROMIUM") or "chromium"
    found = shutil.which(wanted) or (wanted if Path(wanted).is_file() else None)
    if not found:
        pytest.fail(MISSING_CHROMIUM.format(where=wanted), pytrace=False)
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("Python package 'playwright' is missing: scripts/bootstrap installs the "
                    "[test] extras (pip install -e '.[test]')", pytrace=False)
    return found


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=chromium_path,
                                            args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            await instance.close()


async def _reset_agents(h: Harness) -> None:
    for login in AGENTS:
        if await h.service.agents_repo.get(login):
            with contextlib.suppress(Exception):
                await h.service.acd.logout(login)


@contextlib.asynccontextmanager
async def running_kcc(config: Any, setup: Any = None, *,
                      make: Any = Harness) -> AsyncIterator[Any]:
    """The service on the sandbox with ``config`` (a test config) in a ``make(config)``
    harness, the demo municipality's klanten loaded and no calls or logged-in demo agents
    left over; ``setup(h)`` (plain or async) runs once the demo data is loaded. Stopped
    and cleaned up however the test ends."""
    import inspect

    from telephony.demo import load_demo_municipality

    h = make(config)
    await h.start()
    await load_demo_municipality(h.service)
    if setup is not None and inspect.isawaitable(done := setup(h)):
        await done
    await hangup_all(h)
    await _reset_agents(h)
    try:
        yield h
    finally:
        try:
            await hangup_all(h)
            await _reset_agents(h)
        finally:
            await h.stop()


@pytest.fixture
async def kcc(kcc_config, sandbox) -> AsyncIterator[Harness]:
    """The service on the sandbox, demo agents and the demo municipality's klanten."""
    async with running_kcc(_test_config(kcc_config)) as h:
        yield h


def base_url(h: Harness) -> str:
    return f"http://127.0.0.1:{h.config.service.http_port}"


async def open_panel(browser: Any, h: Harness, login: str, path: str = "/") -> Any:
    """A fresh browser context (own sessionStorage) logged in on the panel as ``login``."""
    context = await browser.new_context(ignore_https_errors=True)
    page = await context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(base_url(h) + path)
    await page.fill("#login-user", login)
    await page.fill("#login-pass", f"demo-{login}")
    await page.click("#login-submit")
    return page


async def queue_call(h: Harness, name: str, number: str, *, queue: str = "algemeen",
                     app: str = "Wait", data: str = "20", variables: str = "") -> None:
    """A caller straight into ``queue`` (the IVR's part is the IVR tests' business)."""
    fields = {"Channel": f"Local/{queue}@kcc-queue", "Application": app,
              "CallerID": f'"{name}" <{number}>', "Async": "true"}
    if data:
        fields["Data"] = data
    if variables:
        fields["Variable"] = variables
    await h.service.link.action("Originate", timeout=10, **fields)


async def until(page: Any, expression: str, timeout: float = 10.0) -> Any:
    """Poll a JS expression until truthy. Not page.wait_for_function: that evals a string
    in the page, which the pages' CSP (no 'unsafe-eval') rightly refuses."""
    return await wait_for(lambda: page.evaluate(expression), timeout=timeout, what=expression)


async def verify_by_script(page: Any, question: str = "vraag van de burger") -> None:
    """The default call script up to its verify step, as an agent clicks it: the question
    saved, every fact ticked, "Identiteit gecontroleerd" (details show only after it)."""
    await page.wait_for_selector("#script-card:not([hidden])", timeout=15_000)
    await page.fill("#script-input-vraag", question)
    await page.click("button[data-answer=vraag]")
    await until(page, "!document.getElementById('script-missing').textContent"
                      ".includes('vraag')")
    await until(page, "!document.getElementById('btn-script-verify').disabled")
    for box in await page.locator("#script-card input[data-fact]").all():
        await box.check()
    await page.click("#btn-script-verify")
    await until(page, "document.getElementById('script-verify-result').textContent"
                      " === 'Geslaagd'")


async def register_outcome(page: Any, outcome: str = "beantwoord", notes: str = "") -> None:
    """The call's outcome (nawerk ends only with one registered)."""
    await page.select_option("#script-outcome", outcome)
    if notes:
        await page.fill("#script-notes", notes)
    await until(page, "!document.getElementById('btn-outcome').disabled")
    await page.click("#btn-outcome")
    await page.wait_for_selector("#script-registered", timeout=10_000)


__all__ = ["Harness", "base_url", "open_panel", "queue_call", "register_outcome",
           "running_kcc", "until", "verify_by_script", "wait_for"]
