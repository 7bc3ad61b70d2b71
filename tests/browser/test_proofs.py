"""The job page pages through the proof of every sheet: buttons, arrow keys and the strip of
thumbnails on a desktop, a finger's swipe on a phone (390 px), in Debian's chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from asyncpdf.testing.samples import Fill, SamplePage, signa_marks, write_sample
from tests.browser.test_browser import (
    JOB_S,
    PHONE,
    assert_fits_sideways,
    chromium,
    image_shown,
    new_page,
    screenshot,
)
from tests.support.browser import CHROMIUM, DESKTOP

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
SHEETS = 4


def four_sheets(folder: Path) -> Path:
    """Four Speedmaster plates, one per /Rotate, each with a block in another process ink."""
    marks = signa_marks("Korol", "Speedmaster", (900, 640))
    pages = [
        SamplePage(
            (1030, 770), marks=marks, rotate=rotate, fills=(Fill((100, 100, 500, 400), ink),)
        )
        for rotate, ink in zip(
            (0, 90, 180, 270), ("Cyan", "Magenta", "Yellow", "Black"), strict=True
        )
    ]
    return write_sample(folder / "4242_Four sheets_Korol.pdf", pages)


async def open_job(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    rows = page.locator("#jobs tbody tr.done", has_text=name)
    await expect(rows).to_have_count(1, timeout=JOB_S)
    await rows.locator("a.job-link").click()
    await expect(page.locator("#proof-sheet")).to_have_text(f"Sheet 1 of {SHEETS}")


async def assert_sheet(page: Page, sheet: int) -> None:
    await expect(page.locator("#proof-sheet")).to_have_text(f"Sheet {sheet} of {SHEETS}")
    await expect(page.locator("#proof")).to_have_attribute(
        "src", f"/api/jobs/1/proof.jpg?sheet={sheet}"
    )
    await expect(page.locator("#proof-strip button[aria-current]")).to_have_attribute(
        "data-sheet", str(sheet)
    )
    await image_shown(page, "#proof")


async def swipe(context: BrowserContext, page: Page, towards: int) -> None:
    """A finger across the proof, as chromium gets it from a touch screen (CDP touch events,
    which chromium turns into pointer events as it does a real finger's)."""
    box = await page.locator("#proof").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    start, end = box["x"] + box["width"] * 0.8, box["x"] + box["width"] * 0.2
    if towards < 0:
        start, end = end, start
    session = await context.new_cdp_session(page)
    steps = 8
    await session.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start, "y": y}]}
    )
    for step in range(1, steps + 1):
        x = start + (end - start) * step / steps
        await session.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    await session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await session.detach()


async def test_paging_through_every_sheets_proof(make_service, tmp_path: Path) -> None:
    service = make_service()
    await service.start()
    sample = four_sheets(tmp_path / "samples")
    shutil.copy(sample, service.hotfolder / sample.name)

    async with chromium(service) as (browser, requested):
        _, page = await new_page(browser, requested, DESKTOP)
        await open_job(page, service.url, "Four sheets")
        strip = page.locator("#proof-strip img")
        await expect(strip).to_have_count(SHEETS)
        await image_shown(page, "#proof-strip img")
        await assert_sheet(page, 1)
        await expect(page.get_by_role("button", name="‹ Previous")).to_be_disabled()

        await page.get_by_role("button", name="Next ›").click()
        await assert_sheet(page, 2)
        await page.keyboard.press("ArrowRight")
        await assert_sheet(page, 3)
        await page.keyboard.press("ArrowLeft")
        await assert_sheet(page, 2)
        await page.locator("#proof-strip button[data-sheet='4']").click()
        await assert_sheet(page, 4)
        await expect(page.get_by_role("button", name="Next ›")).to_be_disabled()
        await page.keyboard.press("ArrowRight")  # past the last sheet: stays
        await assert_sheet(page, 4)
        # The proof link opens the sheet shown, in full.
        link = await page.locator("#proof-link").get_attribute("href")
        assert link == "/api/jobs/1/proof.jpg?sheet=4"
        # Each ink's average over the job's plates, process inks as their letters.
        await expect(page.locator("#summary dd .coverage li")).to_have_count(4)
        await screenshot(page, "job-proofs-desktop")

        context, phone = await new_page(browser, requested, PHONE, has_touch=True, is_mobile=True)
        await open_job(phone, service.url, "Four sheets")
        await image_shown(phone, "#proof")
        await swipe(context, phone, 1)
        await assert_sheet(phone, 2)
        await swipe(context, phone, 1)
        await assert_sheet(phone, 3)
        await swipe(context, phone, -1)
        await assert_sheet(phone, 2)
        await expect(phone).to_have_url(f"{service.url}/jobs/1")  # a swipe is not a click
        await assert_fits_sideways(phone)
        await screenshot(phone, "job-proofs-phone")
