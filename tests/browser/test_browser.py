"""The status page in Debian's chromium, driven by Playwright: jobs and the live log appear as
files are dropped, the log survives a reload, and the page asks nothing of the internet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from asyncpdf.testing.samples import make_samples
from tests.support import BUREAUS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_page_shows_jobs_and_live_log(make_service, tmp_path: Path) -> None:
    service = make_service()
    await service.start()
    samples = make_samples(tmp_path / "samples", count=2, seed=21)
    requested: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(service.url)
            await expect(page.locator("#connection")).to_have_text("live")

            # The second file's name tags another bureau than its mark: done, with a warning.
            order, name, bureau = samples[1].stem.split("_")
            other = next(b for b in BUREAUS if b != bureau)
            names = [samples[0].name, f"{order}_{name}_{other}.pdf"]
            for sample, dropped in zip(samples, names, strict=True):
                shutil.copy(sample, service.hotfolder / dropped)
            rows = page.locator("#jobs tbody tr")
            await expect(rows).to_have_count(2, timeout=30_000)
            await expect(page.locator("#jobs tbody tr.done")).to_have_count(2, timeout=30_000)
            for dropped in names:
                await expect(page.locator("#jobs tbody")).to_contain_text(dropped)
            warned = page.locator("#jobs tbody tr.done.warned")
            await expect(warned).to_have_count(1)
            await expect(warned).to_contain_text(names[1])
            await expect(warned.locator("td").nth(2)).to_have_text("done ⚠ 1")
            log = page.locator("#log li")
            await expect(log.filter(has_text="done")).to_have_count(2)
            await expect(log.filter(has_text="analysing")).to_have_count(2)

            (service.hotfolder / "Новая папка").mkdir()
            notice = page.locator("#hotfolder")
            await expect(notice).to_be_visible(timeout=15_000)
            await expect(notice).to_contain_text("Новая папка: a folder: files in sub-folders")

            await page.reload()
            await expect(page.locator("#connection")).to_have_text("live")
            await expect(page.locator("#log li").filter(has_text="done")).to_have_count(2)
            await expect(page.locator("#jobs tbody tr.done")).to_have_count(2)
        finally:
            await browser.close()

    assert requested and all(url.startswith(service.url) for url in requested), requested
