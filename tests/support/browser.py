"""What the browser tests share: Debian's chromium (never a downloaded browser) and its flags,
a browser whose every request is recorded (and checked to be the service's own), pages at a
viewport, screenshots, and axe-core's verdict on a page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.support import Service

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
JOB_S = 90_000  # ms for a dropped file to be done, on a busy 2-core machine too
#: ms for a page to show what it is waited for, or to act (Playwright's own bound for `expect`
#: is 5 s, which a busy machine's chromium can pass); the default of every wait here.
UI_S = 60_000
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"
#: axe-core impacts a page must not have.
SERIOUS = frozenset({"serious", "critical"})


@asynccontextmanager
async def chromium(service: Service) -> AsyncIterator[tuple[Browser, list[str]]]:
    """The browser, and every URL its pages request (checked to be the service's own)."""
    requested: list[str] = []
    expect.set_options(timeout=UI_S)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser, requested
        finally:
            await browser.close()
    assert requested and all(url.startswith(service.url) for url in requested), requested


async def new_page(
    browser: Browser, requested: list[str], viewport: dict[str, int], **options: Any
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(UI_S)
    context.on("request", lambda request: requested.append(request.url))
    page = await context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url.replace("ws://", "http://")))
    return context, page


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def assert_accessible(page: Page, name: str) -> None:
    """axe-core (bundled with axe-playwright-python and injected into the page: nothing is
    fetched) finds nothing serious or critical, WCAG AA contrast included."""
    results = await Axe().run(page)
    found = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert not found, f"{name}: {found}"
