"""Preview, proof, thumbnail and ink coverage made for a job with known content, and the
preview delivered to the press — through the real service."""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.pdf.analysis import MM_PER_PT
from asyncpdf.pdf.ghostscript import gs_path
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from tests.support import PRESSES, wait_finished

pytestmark = pytest.mark.skipif(gs_path() is None, reason="needs Debian's ghostscript")


async def test_job_makes_cropped_preview_proof_thumb_and_ink_coverage(
    make_service, http, tmp_path: Path
) -> None:
    presses = [{**p, "preview_target": (tmp_path / "press" / p["name"]).as_uri()} for p in PRESSES]
    service = make_service(presses=presses)
    await service.start()
    # Speedmaster, gripper 43, paper 900 x 640: the sheet is (65, 43)–(965, 683) mm on the
    # plate; the left half of it is solid cyan.
    page = SamplePage(
        (1030, 770),
        ("Cyan", "Magenta", "Yellow", "Black"),
        signa_marks("Vonoel", "Speedmaster", (900, 640)),
        cyan_box_mm=(65, 43, 515, 683),
    )
    sample = write_sample(tmp_path / "555_Half cyan_Vonoel.pdf", [page, page])
    shutil.copy(sample, service.hotfolder / sample.name)
    (job,) = await wait_finished(http, service, 1)
    assert job["state"] == "done", job["error"]

    async with http.get(f"{service.url}/api/jobs/{job['id']}") as response:
        detail = await response.json()
    made = detail["artefacts"]
    folder = Path(made["dir"])
    assert folder == service.folder("previews") / str(job["id"])

    with pikepdf.open(folder / made["preview"]) as preview:
        assert len(preview.pages) == 2
        x0, y0, x1, y1 = (float(v) for v in preview.pages[0].mediabox)
        assert (x1 - x0) * MM_PER_PT == pytest.approx(900, abs=0.5)
        assert (y1 - y0) * MM_PER_PT == pytest.approx(640, abs=0.5)
    assert made["proof_px"][0] == 2500
    assert made["proof_px"][1] == pytest.approx(2500 * 640 / 900, abs=2)
    assert made["thumb_px"][0] == 175
    for name in (made["proof"], made["thumb"]):
        assert (folder / name).read_bytes()[:2] == b"\xff\xd8"

    for page_coverage in made["ink_coverage"]:
        assert list(page_coverage) == ["Cyan", "Magenta", "Yellow", "Black"]
        assert page_coverage["Cyan"] == pytest.approx(50, abs=1.5)
        assert page_coverage["Magenta"] == page_coverage["Yellow"] == page_coverage["Black"] == 0

    deliveries = {d["kind"]: d for d in detail["deliveries"]}
    assert deliveries["press Speedmaster"]["state"] == "sent"
    delivered = tmp_path / "press" / "Speedmaster" / "555_Half cyan.pdf"
    assert delivered.read_bytes() == (folder / made["preview"]).read_bytes()
    assert (service.outbox("Vonoel") / "555_Half cyan.pdf").read_bytes() == sample.read_bytes()
    assert any("ink coverage: Cyan 50" in line["message"] for line in detail["log"])


async def test_each_press_gets_only_its_own_pages(make_service, http, tmp_path: Path) -> None:
    presses = [{**p, "preview_target": (tmp_path / "press" / p["name"]).as_uri()} for p in PRESSES]
    service = make_service(presses=presses)
    await service.start()
    speedmaster = SamplePage((1030, 770), marks=signa_marks("Korol", "Speedmaster", (900, 640)))
    dominant = SamplePage((650, 550), marks=signa_marks("Korol", "Dominant", (600, 450)))
    sample = write_sample(tmp_path / "77_Mixed_Korol.pdf", [speedmaster, dominant, speedmaster])
    shutil.copy(sample, service.hotfolder / sample.name)
    (job,) = await wait_finished(http, service, 1)
    assert job["state"] == "done", job["error"]

    sizes = {}
    for press in ("Speedmaster", "Dominant"):
        with pikepdf.open(tmp_path / "press" / press / "77_Mixed.pdf") as preview:
            sizes[press] = [
                round(float(page.mediabox[2] - page.mediabox[0]) * MM_PER_PT)
                for page in preview.pages
            ]
    assert sizes == {"Speedmaster": [900, 900], "Dominant": [600]}
