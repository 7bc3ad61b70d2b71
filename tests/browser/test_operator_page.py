"""The operator's page, second round (issue 23), in Debian's chromium at 1440 px and 390 px:
the line's state on every page (import mode, targets, who is signed in), actions only for a
signed-in user, words an operator understands, a quiet live log, upload and bulk retry from
the page, short dates and compact phone cards, reports without the test bureau, and no
serious or critical axe-core finding on any page.

Screenshots go to tests/output/screenshots/ (git-ignored: they are looked at, not kept)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from asyncpdf.intake.watcher import NOT_PDF
from asyncpdf.testing.samples import PAPERS, PRESSES, SamplePage, signa_marks, write_sample
from asyncpdf.web.auth_settings import MIN_ITERATIONS, hash_password
from tests.support import BUREAUS
from tests.support.browser import (
    CHROMIUM,
    JOB_S,
    PHONE,
    WIDE,
    assert_accessible,
    chromium,
    new_page,
    screenshot,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
USER, PASSWORD = "operator", "plates and ink"


def plate_file(folder: Path, name: str, bureau: str, pages: int = 1, filler_bytes: int = 0) -> Path:
    marks = signa_marks(bureau, "Speedmaster", PAPERS["Speedmaster"][0])
    page = SamplePage(PRESSES["Speedmaster"], marks=marks)
    return write_sample(folder / name, [page] * pages, filler_bytes=filler_bytes)


async def drop_file(page: Page, path: Path) -> None:
    """`path` dropped on the page, as a file dragged from the desktop."""
    await page.evaluate(
        """([name, bytes]) => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], name, { type: "application/pdf" }));
            for (const type of ["dragover", "drop"]) {
                document.body.dispatchEvent(
                    new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
            }
        }""",
        [path.name, list(path.read_bytes())],
    )


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/signin?next=/")
    await expect(page.locator("#who")).to_contain_text(f"Signed in as {USER}")


async def test_the_line_at_a_glance(make_service, tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where Korol's folder should be")
    targets: dict[str, Any] = {b: (tmp_path / "outbox" / b).as_uri() for b in BUREAUS}
    targets["Korol"] = (blocked / "Korol").as_uri()
    service = make_service(
        bureaus=[
            {"name": b, "target": targets[b], "notify": False, "in_reports": b != "Admin"}
            for b in BUREAUS
        ],
        delivery={"attempts": 1, "import_mode": True},
        currency="EUR",
        web={
            "auth": {
                "users": [
                    {
                        "name": USER,
                        "password_hash": hash_password(PASSWORD, iterations=MIN_ITERATIONS),
                    }
                ]
            }
        },
    )
    await service.start()
    hot = service.hotfolder

    async with chromium(service) as (browser, requested):
        _, page = await new_page(browser, requested, WIDE)
        await page.goto(service.url)
        await expect(page.locator("#connection")).to_have_text("live")

        # 1. Import mode is said on every page; an anonymous visitor gets no switch.
        banner = page.locator("#import-banner")
        await expect(banner).to_have_text("Import mode: files are recorded, nothing is sent")
        await expect(banner.get_by_role("button")).to_have_count(0)
        await expect(page.locator("#sign-in")).to_have_text("Sign in")
        await expect(page.locator("#targets li")).to_have_count(len(BUREAUS))
        await expect(page.locator("#targets")).to_contain_text("Leonov: ok")
        shutil.copy(plate_file(samples, "100_Imported_Leonov.pdf", "Leonov"), hot)
        imported = page.locator("#jobs tbody tr.imported")
        await expect(imported).to_have_count(1, timeout=JOB_S)
        await expect(imported.locator("td[data-label=State]")).to_contain_text("imported")
        await expect(imported.locator("td[data-label=Delivery]")).to_have_text("imported: not sent")
        await screenshot(page, "line-import-mode-desktop")

        # 2. Actions need a login: disabled, saying so, until one signs in.
        await expect(page.get_by_role("button", name="Upload PDF files")).to_be_disabled()
        await expect(page.locator("#grid-signin")).to_contain_text("Sign in to upload files")
        context, operator = await new_page(
            browser, requested, WIDE, http_credentials={"username": USER, "password": PASSWORD}
        )
        await sign_in(operator, service.url)
        await expect(operator.get_by_role("button", name="Upload PDF files")).to_be_enabled()
        await operator.locator("#import-banner").get_by_role("button").click()
        await expect(operator.locator("#import-banner")).to_be_hidden()
        await expect(banner).to_be_hidden()  # the other page follows
        # Off, the switch to turn it on again is beside the targets, for a signed-in user only.
        await expect(operator.get_by_role("button", name="Switch import mode on")).to_be_visible()
        await expect(page.get_by_role("button", name="Switch import mode on")).to_have_count(0)

        # 3. Words: a duplicate is "already sent"; a stray text file is not a job; a .pdf
        # that is no PDF is rejected, with nothing promised "yet" and no counts.
        shutil.copy(samples / "100_Imported_Leonov.pdf", hot / "100_Again_Leonov.pdf")
        (hot / "notes.txt").write_text("call the bureau")
        (hot / "broken_Leonov.pdf").write_text("not a PDF at all")
        rows = page.locator("#jobs tbody tr")
        duplicate = rows.filter(has_text="100_Again_Leonov.pdf")
        await expect(duplicate.locator("td[data-label=State]")).to_have_text(
            "already sent", timeout=JOB_S
        )
        first_sent = re.compile(r"Already sent as #1 today at \d\d:\d\d")
        await expect(duplicate).to_contain_text(first_sent)
        await expect(duplicate.locator(".error-text")).to_have_count(0)
        rejected = rows.filter(has_text="broken_Leonov.pdf")
        await expect(rejected.locator("td[data-label=State]")).to_have_text(
            "rejected", timeout=JOB_S
        )
        await expect(rejected.locator("td[data-label=Complects]")).to_have_text("")
        await expect(page.locator("#not-taken")).to_contain_text(f"notes.txt: {NOT_PDF}")
        await expect(rows.filter(has_text="notes.txt")).to_have_count(0)

        # 4. Korol's target fails: the strip says so with its error; two jobs are retried at
        # once, a third is run again and its first job reads "fixed by".
        for n in (1, 2, 3):
            shutil.copy(plate_file(samples, f"20{n}_Korol job_Korol.pdf", "Korol"), hot)
        failed = page.locator("#jobs tbody tr.failed")
        await expect(failed).to_have_count(3, timeout=JOB_S)
        await expect(page.locator("#targets .failing")).to_contain_text("Korol: failing")
        await expect(page.locator("#count-failed-today")).to_have_text("4")
        await screenshot(page, "line-grid-desktop")
        await assert_accessible(page, "grid, desktop")

        blocked.unlink()
        await operator.reload()
        boxes = operator.locator("#jobs tbody .select-job")
        await expect(boxes).to_have_count(3)
        await boxes.nth(0).check()
        await boxes.nth(1).check()
        await operator.get_by_role("button", name="Retry failed deliveries of 2 selected").click()
        await expect(operator.locator("#grid-result")).to_contain_text("Sending again: #")
        await expect(operator.locator("#jobs tbody tr.failed")).to_have_count(1, timeout=JOB_S)
        await operator.locator("#jobs tbody tr.failed a.job-link").click()
        await operator.get_by_role("button", name="Run again").click()
        await expect(operator.locator("#state")).to_have_text("done", timeout=JOB_S)
        first = rows.filter(has=page.locator(".fixed-note"))
        await expect(first.locator("td[data-label=State]")).to_have_text(
            re.compile(r"failed, fixed by #\d+"), timeout=JOB_S
        )
        await expect(page.locator("#count-failed-today")).to_have_text("1")
        await expect(page.locator("#targets .failing")).to_have_count(0)

        # 5. Upload from the page, with the name rules the API applies.
        upload = samples / "300_Uploaded_Vonoel.pdf"
        shutil.copy(plate_file(samples, "x.pdf", "Vonoel"), upload)
        (samples / "readme.txt").write_text("not a plate")
        await operator.goto(service.url)
        await operator.locator("#upload-file").set_input_files([upload, samples / "readme.txt"])
        uploads = operator.locator("#uploads li")
        await expect(uploads.filter(has_text="300_Uploaded_Vonoel.pdf")).to_contain_text(
            "taken as #", timeout=JOB_S
        )
        await expect(uploads.filter(has_text="readme.txt")).to_contain_text("not taken: ")
        await expect(uploads.filter(has_text="300_Uploaded").locator("progress")).to_have_attribute(
            "value", "100"
        )
        # Dropped on the page: the same upload.
        # Over 1 MB: smaller files are sent in one piece and log no progress at all.
        dropped = plate_file(samples, "301_Dropped_Vonoel.pdf", "Vonoel", filler_bytes=1_200_000)
        await drop_file(page, dropped)  # not signed in: said, not taken
        await expect(page.locator("#grid-result")).to_have_text(
            "Not taken: sign in to upload files."
        )
        await drop_file(operator, dropped)
        await expect(uploads.filter(has_text=dropped.name)).to_contain_text(
            "taken as #", timeout=JOB_S
        )
        # Its job's own log keeps every progress line the live log leaves out.
        await uploads.filter(has_text=dropped.name).get_by_role("link").click()
        await expect(operator.locator("#state")).to_have_text("done", timeout=JOB_S)
        await expect(operator.locator("#job-log li", has_text="bureau: 80 % sent")).to_have_count(1)

        # 6. A quiet log: no quick transfer's progress, long lines cut, a level filter.
        log = page.locator("#log li:visible")
        await expect(log.filter(has_text="% sent")).to_have_count(0)
        more = page.locator("#log a.more[title*='Not a directory']").first
        await expect(more).to_be_attached()
        full = await more.get_attribute("title") or ""
        cut = more.locator("xpath=..")
        assert len(await cut.inner_text()) < len(full), "a long line is cut"
        await page.get_by_label("Show").select_option("error")
        await expect(log).to_have_count(await page.locator("#log li.error").count())
        await expect(page.locator("#log li.error").first).to_be_visible()
        await page.get_by_label("Show").select_option("all")
        await page.get_by_role("button", name="Wider").click()
        assert (await page.locator("#log-panel").bounding_box() or {})["width"] > 550

        # Short dates with the full time on hover; names wrap at "_", not in a word.
        time = page.locator("#jobs tbody td[data-label=Date] time").first
        await expect(time).to_have_text(re.compile(r"^\d\d:\d\d$"))
        await expect(time).to_have_attribute("title", re.compile(r"\d\d:\d\d:\d\d$"))
        assert await page.locator("#jobs tbody td[data-label=Name] wbr").count() > 0

        # The job pages: the duplicate's details, the rejected file's words.
        await duplicate.locator("a.job-link").click()
        await expect(page.locator("#related")).to_contain_text("Already sent as #1")
        await expect(page.locator("#job-details")).to_contain_text("sha256")
        await expect(page.locator("#import-banner")).to_be_hidden()
        await expect(page.locator("#targets li")).to_have_count(len(BUREAUS))
        await page.goto(service.url)
        await rejected.locator("a.job-link").click()
        await expect(page.locator("#state")).to_have_text("rejected")
        await expect(page.locator("main")).not_to_contain_text("yet")
        await expect(page.locator("#summary")).not_to_contain_text("Complects")
        await expect(page.get_by_role("button", name="Run again")).to_be_disabled()
        await screenshot(page, "line-job-desktop")
        await assert_accessible(page, "job page, desktop")

        # 7. Reports: Admin apart, the currency, months lead to their jobs.
        shutil.copy(plate_file(samples, "400_Test_Admin.pdf", "Admin"), hot)
        await page.goto(service.url)
        admin = page.locator("#jobs tbody tr.done").filter(has_text="400_Test_Admin.pdf")
        await expect(admin).to_have_count(1, timeout=JOB_S)
        await page.goto(f"{service.url}/reports")
        await expect(page.locator("#report-apart")).to_contain_text("Not in these figures: Admin")
        await expect(page.locator("#report-totals")).to_contain_text("EUR")
        month = date.today().strftime("%Y-%m")
        link = page.locator("#monthly tbody th a")  # only months with jobs link to them
        await expect(link).to_have_attribute("href", re.compile(f"since={month}-01&until={month}"))
        await screenshot(page, "line-report-desktop")
        await assert_accessible(page, "reports, desktop")
        await link.click()
        await expect(page.locator("#jobs tbody tr.done").first).to_be_visible()
        assert await page.locator("#jobs tbody tr:not(.done)").count() == 0

        # Phone: compact cards, the selected tab readable, reports without empty months.
        _, phone = await new_page(browser, requested, PHONE)
        await phone.goto(service.url)
        await expect(phone.locator("#jobs tbody tr").first).to_be_visible(timeout=JOB_S)
        for row in await phone.locator("#jobs tbody tr").all():
            box = await row.bounding_box()
            assert box and box["height"] <= 165, box
        await screenshot(phone, "line-grid-phone")
        await assert_accessible(phone, "grid, phone")
        await phone.get_by_role("tab", name="Log").click()
        await assert_accessible(phone, "log tab, phone")
        await phone.goto(f"{service.url}/jobs/1")
        await expect(phone.locator("#state")).to_contain_text("imported")
        await expect(phone.locator("#deliveries")).to_contain_text("recorded, not sent")
        await screenshot(phone, "line-job-phone")
        await assert_accessible(phone, "job page, phone")
        await phone.goto(f"{service.url}/reports")
        await expect(phone.locator("#monthly tbody tr:visible")).to_have_count(1)
        await screenshot(phone, "line-report-phone")
        await assert_accessible(phone, "reports, phone")
        await context.close()
