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


@pytest.fixture
async def kcc(kcc_config, sandbox) -> AsyncIterator[Harness]:
    """The service on the sandbox, demo agents and the demo municipality's klanten."""
    from telephony.demo import load_demo_municipality

    h = Harness(_test_config(kcc_config))
    await h.start()
    await load_demo_municipality(h.service)
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


__all__ = ["Harness", "base_url", "open_panel", "queue_call", "until", "wait_for"]
