"""Files saved into sub-folders of the hotfolder, in-process with the real watcher: with
`watch.recursive` off they are listed as not taken, with their folder, never ignored
silently; on, folders are watched as they appear (also ones moved in whole) and their files
become jobs that record the sub-folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import Paths, load_settings
from asyncpdf.intake.spool import Spool
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for, write_config

App = TestClient[web.Request, web.Application]
Started = Callable[..., AbstractAsyncContextManager[App]]


def started(tmp_path: Path) -> Started:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[App]:
        client = TestClient(
            TestServer(create_app(load_settings(write_config(tmp_path, **overrides))))
        )
        await client.start_server()
        try:
            yield client
        finally:
            await client.close()

    return start


async def _jobs(client: App) -> list[dict[str, Any]]:
    body = await (await client.get("/api/jobs", params={"limit": "500"})).json()
    return list(body["jobs"])


async def test_off_a_file_in_a_sub_folder_is_listed_with_its_folder(tmp_path: Path) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=41)
    async with started(tmp_path)() as client:
        hotfolder = client.app[SERVICE].settings.paths.hotfolder
        (hotfolder / "Заказы").mkdir()
        shutil.copy(sample, hotfolder / "Заказы" / sample.name)

        async def listed() -> list[dict[str, str]] | None:
            status = await (await client.get("/api/status")).json()
            found = [e for e in status["not_taken"] if e["name"] == f"Заказы/{sample.name}"]
            return found or None

        (entry,) = await wait_for(listed, 60, "the file in the sub-folder to be listed")
        assert "in the sub-folder 'Заказы'" in entry["reason"]
        assert "watch.recursive is off" in entry["reason"]
        assert await _jobs(client) == []
        assert (hotfolder / "Заказы" / sample.name).exists()

        # Moved up into the hotfolder itself, it is taken, and leaves the list.
        os.rename(hotfolder / "Заказы" / sample.name, hotfolder / sample.name)

        async def taken() -> bool:
            status = await (await client.get("/api/status")).json()
            names = [e["name"] for e in status["not_taken"]]
            return f"Заказы/{sample.name}" not in names and len(await _jobs(client)) == 1

        await wait_for(taken, 60, "the file to be taken from the top")


async def test_on_sub_folders_are_watched_as_they_appear(tmp_path: Path) -> None:
    samples = make_samples(tmp_path / "samples", count=3, seed=42)
    async with started(tmp_path)(
        watch={"settle_s": 0.3, "poll_s": 0.05, "recursive": True}
    ) as client:
        hotfolder = client.app[SERVICE].settings.paths.hotfolder
        # A new folder, a file saved into it; a nested one; and a folder moved in whole.
        (hotfolder / "Иванов").mkdir()
        shutil.copy(samples[0], hotfolder / "Иванов" / samples[0].name)
        (hotfolder / "Иванов" / "срочно").mkdir()
        shutil.copy(samples[1], hotfolder / "Иванов" / "срочно" / samples[1].name)
        outside = tmp_path / "elsewhere" / "Петров"
        outside.mkdir(parents=True)
        shutil.copy(samples[2], outside / samples[2].name)
        os.rename(outside, hotfolder / "Петров")
        # Hidden and temporary folders stay ignored, as files with such names are.
        (hotfolder / ".Trash").mkdir()
        shutil.copy(samples[0], hotfolder / ".Trash" / "old.pdf")

        async def three_done() -> list[dict[str, Any]] | None:
            jobs = await _jobs(client)
            done = [job for job in jobs if job["state"] == "done"]
            return jobs if len(done) == 3 else None

        jobs = await wait_for(three_done, 90, "three jobs from sub-folders")
        assert len(jobs) == 3
        folders = {job["name"]: job["subfolder"] for job in jobs}
        assert folders == {
            samples[0].name: "Иванов",
            samples[1].name: "Иванов/срочно",
            samples[2].name: "Петров",
        }
        first = min(jobs, key=lambda job: job["id"])
        detail = await (await client.get(f"/api/jobs/{first['id']}")).json()
        assert "from the sub-folder" in detail["log"][0]["message"]
        status = await (await client.get("/api/status")).json()
        assert status["not_taken"] == []
        assert (hotfolder / ".Trash" / "old.pdf").exists()
        # The operator's folders stay; only the files were taken.
        assert (hotfolder / "Иванов" / "срочно").is_dir()


async def test_on_a_link_to_a_folder_elsewhere_is_never_followed(tmp_path: Path) -> None:
    (sample,) = make_samples(tmp_path / "samples", count=1, seed=43)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(sample, outside / sample.name)
    watch = {"settle_s": 0.3, "poll_s": 0.05, "recursive": True}
    async with started(tmp_path)(watch=watch) as client:
        hotfolder = client.app[SERVICE].settings.paths.hotfolder
        (hotfolder / "Ссылка").symlink_to(outside, target_is_directory=True)

        async def listed() -> str | None:
            status = await (await client.get("/api/status")).json()
            found = [e["reason"] for e in status["not_taken"] if e["name"] == "Ссылка"]
            return found[0] if found else None

        assert "symbolic link" in await wait_for(listed, 60, "the link to be listed")
        assert await _jobs(client) == []
        assert (outside / sample.name).read_bytes() == sample.read_bytes()


def test_a_claim_never_moves_a_file_through_a_folder_swapped_for_a_link(tmp_path: Path) -> None:
    paths = Paths().resolved(tmp_path / "var")
    spool = Spool(paths)
    spool.prepare()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(b"%PDF not yours")
    # Settled as a file in a real sub-folder, then the folder became a link to elsewhere.
    (paths.hotfolder / "Папка").symlink_to(outside, target_is_directory=True)
    source = paths.hotfolder / "Папка" / "secret.pdf"
    with pytest.raises(OSError):
        spool._claim(source, 1, "secret.pdf", None)
    assert (outside / "secret.pdf").read_bytes() == b"%PDF not yours"
    assert not spool.holds(1, "secret.pdf")
