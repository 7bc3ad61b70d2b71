"""The store on real SQLite: a database written by the first schema opens and reads as the
typed records; a transaction commits whole or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from asyncpdf.domain.lifecycle import DeliveryState, JobState
from asyncpdf.store import Store
from asyncpdf.store.migrations import MIGRATIONS

V1_ANALYSIS = {
    "file": "12345_Catalogue_Leonov.pdf",
    "size": 2048,
    "is_pdf": True,
    "creator": "PrinectSignaStation",
    "is_signa": True,
    "pages": 2,
    "plate_sizes_mm": [[1030, 770], [1030, 770]],
    "media_mm": [[1030.0, 770.0], [1030.0, 770.0]],
    "inks": [["Cyan", "Black"], ["Black"]],
    "plates": 3,
    "marks": [{"Machine": "Машина: Speedmaster"}, {"Machine": "Машина: Speedmaster"}],
    "press": ["Speedmaster", "Speedmaster"],
    "bureau": "Leonov",
    "paper_mm": [[900.0, 640.0], [900.0, 640.0]],
    "paper_from": ["mark", "mark"],
    "content_box_mm": [],
    "order": "12345",
    "order_name": "Catalogue",
    "warnings": [],
    "error": None,
    "rejected": False,
    "artefacts": {"preview": "preview.pdf", "proof": "proof.jpg", "dir": "/srv/previews/1"},
}


def first_schema_database(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version=1; COMMIT;")
        db.execute(
            "INSERT INTO jobs (name, state, created_at, updated_at, analysis)"
            " VALUES (?, 'done', 1, 2, ?)",
            ("12345_Catalogue_Leonov.pdf", json.dumps(V1_ANALYSIS)),
        )
        db.execute(
            "INSERT INTO jobs (name, state, created_at, updated_at)"
            " VALUES ('x.pdf', 'delivering', 1, 2)"
        )
        db.executemany(
            "INSERT INTO deliveries (job_id, kind, target, status, attempts)"
            " VALUES (?, ?, ?, ?, ?)",
            [(1, "bureau", "file:///out", "done", 1), (2, "bureau", "file:///out", "sending", 1)],
        )
        db.executemany(
            "INSERT INTO job_log (job_id, ts, level, message) VALUES (1, 1, ?, ?)",
            [("info", "analysing"), ("warning", "not made by Signa Station"), ("info", "done")],
        )


async def test_a_first_schema_database_reads_as_typed_records(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    first_schema_database(path)
    store = await Store.open(path)
    try:
        job = await store.jobs.get(1)
        assert job.state is JobState.DONE and job.analysis is not None
        assert [page.press for page in job.analysis.pages] == ["Speedmaster", "Speedmaster"]
        assert [page.plate_mm for page in job.analysis.pages] == [(1030, 770), (1030, 770)]
        assert job.analysis.plates == 3 and job.analysis.bureau == "Leonov"
        # The warning count is taken from the log the old database already holds.
        assert job.warnings == 1 and (await store.jobs.header(2)).warnings == 0
        assert job.artefacts is not None and job.artefacts.preview == "preview.pdf"
        assert job.artefacts.dir == "/srv/previews/1"
        (sent,) = await store.deliveries.of_job(1)
        assert sent.state is DeliveryState.SENT
        (interrupted,) = await store.deliveries.of_job(2)
        assert interrupted.state is DeliveryState.PENDING
    finally:
        await store.close()


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(RuntimeError, match="midway"):
            async with store.transaction():
                job_id = await store.jobs.create("a.pdf")
                await store.log.add(job_id, "info", "received")
                raise RuntimeError("midway")
        assert await store.jobs.page() == []
        assert await store.log.recent(10) == []
        with pytest.raises(AssertionError, match=r"inside Store\.transaction"):
            await store.jobs.create("b.pdf")
    finally:
        await store.close()


async def test_reads_see_only_what_is_committed(tmp_path: Path) -> None:
    """A page reading while a claim's transaction is open must not show a job a crash would
    take back."""
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        async with store.transaction():
            job_id = await store.jobs.create("a.pdf")
            assert await store.jobs.page() == []
            assert await store.jobs.count_by_state() == dict.fromkeys(JobState, 0)
        assert [job.id for job in await store.jobs.page()] == [job_id]
    finally:
        await store.close()


async def test_a_read_sees_what_was_just_committed_while_other_tasks_read(tmp_path: Path) -> None:
    """Reads share one connection: a query held open across an await by one task would pin
    the snapshot every other task's reads see (a switch just set would read as before)."""
    store = await Store.open(tmp_path / "db.sqlite3")

    async def reading() -> None:
        while True:
            await store.deliveries.next_due_at()
            await store.outbox.due(0, 4)
            await asyncio.sleep(0)

    readers = [asyncio.create_task(reading()) for _ in range(3)]
    try:
        stale = 0
        for turn in range(500):
            async with store.transaction():
                await store.switches.set("import_mode", turn % 2 == 0)
            stale += await store.switches.get("import_mode", False) != (turn % 2 == 0)
        assert stale == 0
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await store.close()
