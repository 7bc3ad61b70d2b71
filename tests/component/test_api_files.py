"""A job's files over the API (proof, thumbnail, preview, original) and /api/status, in-process:
files are served with their type and name; a missing one, or a record edited to point
elsewhere, is a JSON 404 and nothing outside the service's folders is ever read."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image

from asyncpdf import __version__
from asyncpdf.config import Paths
from asyncpdf.domain.lifecycle import JobState
from asyncpdf.domain.records import JobHeader
from asyncpdf.intake.spool import Spool
from asyncpdf.testing.samples import SamplePage, make_samples, signa_marks, write_sample
from asyncpdf.web.files import content_disposition
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for

Client = TestClient[web.Request, web.Application]
JPEG_MAGIC = b"\xff\xd8\xff"
FILES = ("proof.jpg", "thumb.jpg", "preview.pdf", "original")


async def _done_job(
    client: Client, tmp_path: Path, sample: Path | None = None
) -> tuple[dict[str, Any], bytes]:
    """Drop one sample (a generated one unless given), renamed with a Cyrillic order name,
    and wait for its job to be done."""
    if sample is None:
        (sample,) = make_samples(tmp_path / "samples", count=1, seed=5)
    order, _, bureau = sample.stem.split("_")
    dropped = client.app[SERVICE].settings.paths.hotfolder / f"{order}_Каталог «осень»_{bureau}.pdf"
    shutil.copy(sample, dropped)

    async def finished() -> dict[str, Any] | None:
        jobs = (await (await client.get("/api/jobs")).json())["jobs"]
        return jobs[0] if jobs and jobs[0]["state"] == "done" else None

    job = await wait_for(finished, 60, "the job to be done")
    return job, sample.read_bytes()


async def _not_found(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 404, path
    body = await response.json()
    assert body["error"]["code"] == "not_found"
    return str(body["error"]["message"])


def _set(database: Path, job_id: int, **columns: Any) -> None:
    """Edit the job's row behind the service's back, as someone with the database could."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        for column, value in columns.items():
            db.execute(f"UPDATE jobs SET {column} = ? WHERE id = ?", (value, job_id))


async def test_a_done_jobs_files_and_the_status(client: Client, tmp_path: Path) -> None:
    job, original = await _done_job(client, tmp_path)
    base = f"/api/jobs/{job['id']}"
    for name in ("proof.jpg", "thumb.jpg"):
        response = await client.get(f"{base}/{name}")
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert (await response.read()).startswith(JPEG_MAGIC)

    response = await client.get(f"{base}/preview.pdf")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert (await response.read()).startswith(b"%PDF")
    stem = quote(Path(job["name"]).stem)
    assert f"filename*=UTF-8''{stem}%20preview.pdf" in response.headers["Content-Disposition"]

    detail = await (await client.get(base)).json()
    press = detail["analysis"]["presses"][0]
    response = await client.get(f"{base}/preview.pdf", params={"press": press})
    assert response.status == 200 and (await response.read()).startswith(b"%PDF")
    message = await _not_found(client, f"{base}/preview.pdf?press=Nowhere")
    assert message == f"job {job['id']} has no preview for press 'Nowhere'"

    response = await client.get(f"{base}/original")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert await response.read() == original
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "Каталог «осень»" in job["name"]
    assert f"filename*=UTF-8''{quote(job['name'], safe='')}" in disposition

    response = await client.get("/api/status")
    assert response.status == 200
    status = await response.json()
    assert set(status) >= {"hotfolder", "not_taken", "failed_claims"}
    assert status["version"] == __version__
    assert status["uptime_s"] > 0
    assert status["jobs"] == {state.value: 1 if state is JobState.DONE else 0 for state in JobState}
    assert status["queue_depth"] == 0 and status["oldest_waiting_s"] is None
    assert status["import_mode"] is False
    bureau = job["name"].rsplit("_", 1)[1].removesuffix(".pdf")
    assert status["targets"][f"bureau {bureau}"]["files_sent"] == 1
    assert status["watcher_last_event"] is not None
    assert status["watcher_last_event"].endswith("+00:00")


async def test_every_sheet_has_its_proof(client: Client, tmp_path: Path) -> None:
    marks = signa_marks("Korol", "Speedmaster", (900, 640))
    sheets = [SamplePage((1030, 770), marks=marks, rotate=rotate) for rotate in (0, 90, 180)]
    sample = write_sample(tmp_path / "77_Three sheets_Korol.pdf", sheets)
    job, _ = await _done_job(client, tmp_path, sample)
    base = f"/api/jobs/{job['id']}"
    detail = await (await client.get(base)).json()
    assert detail["artefacts"]["proofs"] == ["proof.jpg", "proof-2.jpg", "proof-3.jpg"]
    sizes = []
    for sheet in (1, 2, 3):
        response = await client.get(f"{base}/proof.jpg", params={"sheet": str(sheet)})
        assert response.status == 200 and response.content_type == "image/jpeg"
        with Image.open(io.BytesIO(await response.read())) as proof:
            sizes.append(proof.size)
    # Shown as each plate is shown: the second sheet turned a quarter, the third upside down.
    assert sizes[0] == sizes[2] and sizes[0][0] > sizes[0][1] and sizes[1][0] < sizes[1][1]
    assert await (await client.get(f"{base}/proof.jpg")).read() == (
        await (await client.get(f"{base}/proof.jpg?sheet=1")).read()
    )
    message = await _not_found(client, f"{base}/proof.jpg?sheet=4")
    assert message == f"job {job['id']} has no proof of sheet 4: it has proofs of 3 sheet(s)"
    for wrong in ("0", "two", "-1"):
        response = await client.get(f"{base}/proof.jpg", params={"sheet": wrong})
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_request"


async def test_files_that_are_gone_or_elsewhere_are_not_served(
    client: Client, tmp_path: Path
) -> None:
    for name in FILES:
        assert await _not_found(client, f"/api/jobs/41/{name}") == "no job 41"

    job, _ = await _done_job(client, tmp_path)
    job_id, base = job["id"], f"/api/jobs/{job['id']}"
    settings = client.app[SERVICE].settings
    previews = settings.paths.previews / str(job_id)
    database = settings.paths.database

    # A link swapped in for the proof, to a file outside the previews folder.
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(JPEG_MAGIC + b"secret")
    (previews / "proof.jpg").unlink()
    (previews / "proof.jpg").symlink_to(secret)
    message = await _not_found(client, f"{base}/proof.jpg")
    assert message == f"job {job_id}: its proof.jpg is gone from the previews folder"

    # The record edited to point outside: by its folder, and by a name with "..".
    detail = await (await client.get(base)).json()
    artefacts = detail["artefacts"]
    _set(
        database,
        job_id,
        artefacts=json.dumps({**artefacts, "dir": str(tmp_path), "proof": secret.name}),
    )
    await _not_found(client, f"{base}/proof.jpg")
    escaping = {**artefacts, "thumb": "../../../secret.jpg"}
    _set(database, job_id, artefacts=json.dumps(escaping))
    assert (previews / escaping["thumb"]).resolve() == secret
    await _not_found(client, f"{base}/thumb.jpg")
    assert (await client.get(f"{base}/preview.pdf")).status == 200

    # The original's name edited to climb out of done/ (same size, so only the path check
    # stands in the way).
    outside = settings.paths.done.parent / "secret.pdf"
    outside.write_bytes(b"%PDF-secret")
    _set(database, job_id, file_name="../secret.pdf", size=outside.stat().st_size)
    await _not_found(client, f"{base}/original")

    # The preview folder deleted: a clear message, not a 500.
    _set(database, job_id, artefacts=json.dumps(artefacts))
    shutil.rmtree(previews)
    message = await _not_found(client, f"{base}/preview.pdf")
    assert message == f"job {job_id}: its preview.pdf is gone from the previews folder"

    _set(database, job_id, artefacts=None)
    message = await _not_found(client, f"{base}/thumb.jpg")
    assert message == f"job {job_id} has no previews (not made yet, or they failed)"


def test_content_disposition_has_an_ascii_fallback_and_the_name_in_utf8() -> None:
    header = content_disposition("attachment", 'План "А"\\1.pdf')
    assert header == (
        'attachment; filename="____ ____1.pdf"; '
        "filename*=UTF-8''%D0%9F%D0%BB%D0%B0%D0%BD%20%22%D0%90%22%5C1.pdf"
    )


def _header(job_id: int, state: JobState, name: str, size: int) -> JobHeader:
    return JobHeader(
        id=job_id,
        name=name,
        state=state,
        sha256=None,
        size=size,
        created_at=0.0,
        updated_at=0.0,
        finished_at=None,
        error="bad",
        file_name=name,
        warnings=0,
        imported=False,
        duplicate_of=None,
        rerun_of=None,
        order=None,
        bureau=None,
        presses=(),
        complects=None,
        plates=None,
        inks=(),
        subfolder=None,
        original_removed_at=None,
    )


@pytest.mark.parametrize("state", [JobState.DONE, JobState.FAILED])
async def test_kept_path_finds_each_jobs_own_file_among_same_named_ones(
    tmp_path: Path, state: JobState
) -> None:
    paths = Paths().resolved(tmp_path)
    spool = Spool(paths)
    spool.prepare()
    jobs = [_header(job_id, state, "1_План_Leonov.pdf", job_id) for job_id in (1, 2, 3)]
    for job in jobs:
        assert spool.kept_path(job) is None
        held = spool.path(job.id, job.name)
        held.parent.mkdir()
        held.write_bytes(b"x" * job.id)
        assert spool.kept_path(job) == held
        await spool.release(job)
    folder = paths.done if state is JobState.DONE else paths.error
    for job in jobs:
        kept = spool.kept_path(job)
        assert kept is not None and kept.parent == folder
        assert kept.read_bytes() == b"x" * job.id
    # The first job's file gone: the plain name is not another job's to hand out.
    (folder / "1_План_Leonov.pdf").unlink()
    assert spool.kept_path(jobs[0]) is None
    assert spool.kept_path(jobs[1]) == folder / "1_План_Leonov (job 2).pdf"
    unfinished = _header(4, JobState.ANALYSING, "1_План_Leonov.pdf", 4)
    assert spool.kept_path(unfinished) is None
