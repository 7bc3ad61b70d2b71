"""The pages in Debian's chromium, driven by Playwright (never a downloaded browser): the grid
follows the hotfolder live, filters live in the URL, the job page shows the proof and acts
only with credentials, the report draws its charts, a phone never scrolls sideways, a lost
connection is said and greys the page, and no page asks anything of the internet.

Screenshots of each page (desktop and phone) go to tests/output/screenshots/."""

from __future__ import annotations

import asyncio
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import (
    Page,
    expect,
)

from asyncpdf.testing.samples import make_samples
from asyncpdf.web.auth_settings import MIN_ITERATIONS, hash_password
from tests.support import BUREAUS, PRESSES, Service
from tests.support.browser import (
    CHROMIUM,
    DESKTOP,
    JOB_S,
    PHONE,
    chromium,
    new_page,
    screenshot,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
USER, PASSWORD = "operator", "plates and ink"


async def assert_fits_sideways(page: Page) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


async def image_shown(page: Page, selector: str) -> None:
    """Every image matching `selector` has loaded and has pixels."""
    await page.wait_for_function(
        """selector => {
            const images = [...document.querySelectorAll(selector)];
            return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
        }""",
        arg=selector,
        timeout=JOB_S,
    )


def drop_names(samples: list[Path]) -> list[str]:
    """The first sample as it is; the second tagged with another bureau than its mark, which
    is done with a warning."""
    order, name, bureau = samples[1].stem.split("_")
    other = next(b for b in BUREAUS if b != bureau)
    return [samples[0].name, f"{order}_{name}_{other}.pdf"]


async def test_grid_job_page_and_report(make_service, tmp_path: Path) -> None:
    service = make_service(presses=[{**press, "plate_cost": 4.5} for press in PRESSES])
    await service.start()
    samples = make_samples(tmp_path / "samples", count=2, seed=21)
    names = drop_names(samples)

    async with chromium(service) as (browser, requested):
        _, page = await new_page(browser, requested, DESKTOP)
        await page.goto(service.url)
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#empty")).to_contain_text(str(service.hotfolder))

        for sample, dropped in zip(samples, names, strict=True):
            shutil.copy(sample, service.hotfolder / dropped)
        rows = page.locator("#jobs tbody tr")
        await expect(rows).to_have_count(2, timeout=JOB_S)
        await expect(page.locator("#jobs tbody tr.done")).to_have_count(2, timeout=JOB_S)
        await expect(page.locator("#empty")).to_be_hidden()
        # Newest first: the second file is on top.
        await expect(rows.nth(0)).to_contain_text(names[1])
        await expect(rows.nth(1)).to_contain_text(names[0])
        warned = page.locator("#jobs tbody tr.done.warned")
        await expect(warned).to_have_count(1)
        await expect(warned).to_contain_text(names[1])
        await expect(warned.locator("td[data-label=State]")).to_have_text("done ⚠ 1")
        await expect(rows.nth(1).locator("td[data-label=State]")).to_have_text("done")
        await expect(rows.nth(1).locator("td[data-label=Inks] .ink-K")).to_have_text("K")
        await expect(rows.nth(1).locator(".delivery.state-sent").first).to_be_visible()
        log = page.locator("#log li")
        await expect(log.filter(has_text="done")).to_have_count(2)
        await expect(log.filter(has_text="analysing")).to_have_count(2)
        await image_shown(page, "#jobs img.thumb")
        await expect(page.locator("#range")).to_have_text("1–2 of 2")
        await expect(page.locator("#totals")).to_contain_text("plates")
        await expect(page.locator("#totals")).not_to_contain_text("cost 0.00")
        await expect(page.locator("#count-waiting")).to_have_text("0")
        await expect(page.locator("#count-in-work")).to_have_text("0")
        await expect(page.locator("#export")).to_have_attribute("href", "/api/jobs.csv")

        await rows.nth(1).locator("img.thumb").hover()
        await expect(page.locator("#proof-pop")).to_be_visible()
        await image_shown(page, "#proof-pop")
        await page.mouse.move(0, 0)
        await expect(page.locator("#proof-pop")).to_be_hidden()

        (service.hotfolder / "Новая папка").mkdir()
        notice = page.locator("#hotfolder")
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("Новая папка: a folder: files in sub-folders")
        await screenshot(page, "grid-desktop")

        # The log and the rows are there again after a reload.
        await page.reload()
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#log li").filter(has_text="done")).to_have_count(2)
        await expect(page.locator("#jobs tbody tr.done")).to_have_count(2)

        await check_filters(page, names)

        # Printed: the table and its totals, without the controls and the log.
        await page.emulate_media(media="print")
        for hidden in ("#filters", "#log-panel", "#print", "header nav"):
            await expect(page.locator(hidden)).to_be_hidden()
        for shown in ("#jobs", "#totals", "#print-summary"):
            await expect(page.locator(shown)).to_be_visible()
        await screenshot(page, "grid-print")
        await page.emulate_media(media="screen")

        job_link = rows.filter(has_text=names[0]).locator("a.job-link")
        job_url = await job_link.get_attribute("href")
        assert job_url is not None
        await job_link.click()
        await check_job_page(page, service, names[0])
        await screenshot(page, "job-desktop")

        await page.goto(f"{service.url}/reports")
        await check_report(page)
        await screenshot(page, "report-desktop")

        _, phone = await new_page(browser, requested, PHONE)
        await check_phone(phone, service, job_url)


async def check_filters(page: Page, names: list[str]) -> None:
    """A name filter narrows the rows, is kept in the URL across a reload, a leading "-"
    excludes, and back goes to the view before."""
    rows = page.locator("#jobs tbody tr")
    part = names[0].split("_")[1]
    await page.get_by_label("Name").fill(part)
    await page.get_by_label("Name").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(names[0])
    search = urlsplit(page.url).query
    assert parse_qs(search)["name"] == [part]
    await expect(page.locator("#export")).to_have_attribute("href", f"/api/jobs.csv?{search}")

    await page.reload()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(names[0])
    await expect(page.get_by_label("Name")).to_have_value(part)

    await page.get_by_label("Name").fill(f"-{part}")
    await page.get_by_label("Name").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(names[1])

    await page.go_back()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(names[0])
    await expect(page.get_by_label("Name")).to_have_value(part)

    await page.get_by_label("State").select_option("failed,rejected")
    await expect(rows).to_have_count(0)
    await expect(page.locator("#empty")).to_be_visible()
    await page.get_by_role("button", name="Clear").click()
    await expect(rows).to_have_count(2)
    await expect(page.get_by_label("Name")).to_have_value("")

    # One job a page: the newest first, then the older one.
    await page.goto(page.url.split("?")[0] + "?limit=1")
    await expect(page.locator("#range")).to_have_text("1–1 of 2")
    await expect(rows).to_contain_text(names[1])
    await page.get_by_role("button", name="Older").click()
    await expect(page.locator("#range")).to_have_text("2–2 of 2")
    await expect(rows).to_contain_text(names[0])
    await expect(page.get_by_role("button", name="Older")).to_be_disabled()
    await page.get_by_role("button", name="Newer").click()
    await expect(page.locator("#range")).to_have_text("1–1 of 2")
    await page.get_by_role("button", name="Clear").click()
    await expect(rows).to_have_count(2)


async def check_job_page(page: Page, service: Service, name: str) -> None:
    await expect(page.locator("#title")).to_contain_text(name)
    await expect(page.locator("#state")).to_have_text("done")
    await image_shown(page, "#proof")
    href = await page.locator("#proof-link").get_attribute("href") or ""
    assert href.endswith("/proof.jpg?sheet=1")
    pages = page.locator("#pages tbody tr")
    assert await pages.count() >= 1
    await expect(pages.first.locator("td[data-label=Press]")).not_to_have_text("—")
    await expect(pages.first.locator(".marks li").first).to_be_visible()
    await expect(pages.first.locator(".coverage li").first).to_be_visible()
    await expect(page.locator("#deliveries")).to_contain_text("sent")
    await expect(page.locator("#job-log li").filter(has_text="done")).to_have_count(1)
    await expect(page.locator("#downloads a", has_text="Original")).to_be_visible()
    await expect(page.locator("#downloads a", has_text="Press preview").first).to_be_visible()
    await expect(page.locator("#retry")).to_be_hidden()
    await expect(page.locator("#rerun")).to_be_visible()
    await expect(page.locator("#delete")).to_be_visible()


async def check_report(page: Page) -> None:
    await expect(page.locator("#charts svg")).to_have_count(4)
    assert await page.locator("#charts [data-chart=plates] svg rect").count() > 0
    await expect(page.locator("#monthly tbody tr")).to_have_count(12)
    year = str(date.today().year)  # the jobs were done today
    await expect(page.get_by_label("Year")).to_have_value(year)
    await expect(page.locator("#csv-report")).to_have_attribute(
        "href", f"/api/reports.csv?year={year}"
    )
    await expect(page.locator("#report-totals")).to_contain_text("23 plates")
    # Ink use per press: a row per ink, process inks as their letters first.
    await expect(page.locator("#ink-use table").first).to_be_visible()
    await expect(page.locator("#ink-use table tbody tr th .ink-C").first).to_be_visible()


async def check_phone(page: Page, service: Service, job_url: str) -> None:
    """At 390 px nothing scrolls sideways; the grid is a list of cards, the log a tab."""
    await page.goto(service.url)
    await expect(page.locator("#jobs tbody tr.done")).to_have_count(2)
    await image_shown(page, "#jobs img.thumb")
    await expect(page.locator("#jobs thead")).to_be_hidden()
    await expect(page.locator("#log")).to_be_hidden()
    await assert_fits_sideways(page)
    await screenshot(page, "grid-phone")
    await page.get_by_role("tab", name="Log").click()
    await expect(page.locator("#log")).to_be_visible()
    await expect(page.locator("#jobs")).to_be_hidden()
    await assert_fits_sideways(page)

    await page.goto(f"{service.url}{job_url}")
    await image_shown(page, "#proof")
    await assert_fits_sideways(page)
    await screenshot(page, "job-phone")

    await page.goto(f"{service.url}/reports")
    await expect(page.locator("#charts svg")).to_have_count(4)
    await assert_fits_sideways(page)
    await screenshot(page, "report-phone")


async def test_retry_needs_credentials(make_service, tmp_path: Path) -> None:
    """A bureau delivery that failed is red; without a login the job's actions are disabled,
    saying "sign in to …"; signed in (the page's Sign in link), retrying works once the
    target is mended."""
    sample = make_samples(tmp_path / "samples", count=1, seed=5)[0]
    bureau = sample.stem.split("_")[2]
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the bureau's folder should be")
    targets = {b: tmp_path / "outbox" / b for b in BUREAUS} | {bureau: blocked / bureau}
    password_hash = hash_password(PASSWORD, iterations=MIN_ITERATIONS)
    service = make_service(
        bureaus=[{"name": b, "target": targets[b].as_uri(), "notify": False} for b in BUREAUS],
        delivery={"attempts": 1},
        web={"auth": {"users": [{"name": USER, "password_hash": password_hash}]}},
    )
    await service.start()

    async with chromium(service) as (browser, requested):
        _, page = await new_page(browser, requested, DESKTOP)
        await page.goto(service.url)
        await expect(page.locator("#connection")).to_have_text("live")
        shutil.copy(sample, service.hotfolder / sample.name)
        row = page.locator("#jobs tbody tr")
        await expect(row.locator(".delivery.bad")).to_have_text(f"{bureau}: failed", timeout=JOB_S)
        await expect(page.locator("#count-failed-today")).to_have_text("1")
        await row.locator("a.job-link").click()

        retry = page.get_by_role("button", name="Retry failed deliveries")
        await expect(retry).to_be_disabled()
        await expect(retry).to_have_attribute("title", "sign in to retry failed deliveries")
        await expect(page.locator("#job-signin")).to_have_text(
            "Sign in to retry, run again or delete."
        )
        await expect(page.locator("#deliveries tr.bad")).to_contain_text("failed")

        blocked.unlink()
        _, operator = await new_page(
            browser, requested, DESKTOP, http_credentials={"username": USER, "password": PASSWORD}
        )
        job_path = urlsplit(page.url).path
        await operator.goto(f"{service.url}/signin?next={job_path}")
        await operator.wait_for_url(page.url)
        await expect(operator.locator("#who")).to_have_text(f"Signed in as {USER}")
        await operator.get_by_role("button", name="Retry failed deliveries").click()
        await expect(operator.get_by_role("alert")).to_contain_text(f"Sending again: {bureau}")
        await expect(operator.locator("#state")).to_have_text("done", timeout=JOB_S)
        await expect(operator.locator("#deliveries tr.bad")).to_have_count(0)
        await expect(operator.get_by_role("button", name="Retry failed deliveries")).to_be_hidden()
        # The first page follows live too.
        await expect(page.locator("#state")).to_have_text("done", timeout=JOB_S)
        assert any((blocked / bureau).iterdir())

        # Run again: a new job linked to this one; then its record deleted, file kept.
        await operator.get_by_role("button", name="Run again").click()
        await operator.wait_for_url(f"{service.url}/jobs/2")
        await expect(operator.locator("#related")).to_contain_text("Run again from #1.")
        await expect(operator.get_by_role("button", name="Delete record")).to_be_visible(
            timeout=JOB_S
        )
        await expect(page.locator("#related")).to_have_text("Run again as #2.")
        kept = kept_files(service)
        operator.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await operator.get_by_role("button", name="Delete record").click()
        await operator.wait_for_url(f"{service.url}/")
        await expect(operator.locator("#jobs tbody tr")).to_have_count(1)
        await expect(operator.locator("#jobs tbody tr")).to_contain_text(sample.name)
        await expect(page.locator("#state")).to_have_text("done")  # the other job's page
    assert len(kept) == 2 and kept_files(service) == kept


def kept_files(service: Service) -> list[Path]:
    return sorted(p for f in ("done", "error") for p in service.folder(f).rglob("*.pdf"))


async def test_offline_is_said_and_greys_the_page(make_service, tmp_path: Path) -> None:
    """While the service is away the page says so and greys what may be stale; back, it
    catches up (a file dropped meanwhile appears) and is live again."""
    service = make_service()
    await service.start()
    sample = make_samples(tmp_path / "samples", count=1, seed=8)[0]

    async with chromium(service) as (browser, requested):
        _, page = await new_page(browser, requested, DESKTOP)
        await page.goto(service.url)
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#offline")).to_be_hidden()

        await asyncio.to_thread(service.stop)
        await expect(page.locator("#offline")).to_be_visible()
        await expect(page.locator("#offline")).to_contain_text("offline — reconnecting")
        await expect(page.locator("#jobs")).to_have_class("jobs stale")
        await expect(page.locator("#counters")).to_have_class("counters stale")
        await screenshot(page, "grid-offline-desktop")

        shutil.copy(sample, service.hotfolder / sample.name)
        await service.start()
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#offline")).to_be_hidden()
        await expect(page.locator("#jobs")).to_have_class("jobs")
        await expect(page.locator("#jobs tbody tr.done")).to_have_count(1, timeout=JOB_S)
