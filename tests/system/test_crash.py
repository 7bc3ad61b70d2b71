"""SIGKILL in the middle of a burst: after a restart every file ends in exactly one job."""

from __future__ import annotations

import shutil
import time
from collections import Counter

from asyncpdf.testing.samples import make_samples
from tests.support import all_jobs, delivered_path, wait_finished

FILES = 30
KILL_AFTER = 12


async def test_kill_mid_burst_loses_and_duplicates_nothing(make_service, http, tmp_path) -> None:
    service = make_service(watch={"settle_s": 0.1, "poll_s": 0.02}, pool={"jobs": 2, "workers": 1})
    await service.start()
    samples = make_samples(tmp_path / "samples", count=FILES, seed=11)

    for sample in samples[:KILL_AFTER]:
        shutil.copy(sample, service.hotfolder / sample.name)
        time.sleep(0.03)
    jobs_before = await all_jobs(http, service)
    service.kill()
    for sample in samples[KILL_AFTER:]:
        shutil.copy(sample, service.hotfolder / sample.name)

    unfinished = [j for j in jobs_before if j["state"] not in {"done", "failed", "rejected"}]
    pending_files = list(service.hotfolder.iterdir())
    assert unfinished or len(pending_files) > FILES - KILL_AFTER, "the kill came after the burst"

    await service.start()
    jobs = await wait_finished(http, service, FILES)

    names = Counter(job["name"] for job in jobs)
    assert names == Counter(sample.name for sample in samples), "lost or duplicated"
    assert {job["state"] for job in jobs} == {"done"}, [j["error"] for j in jobs]
    for sample in samples:
        assert delivered_path(service, sample.name).read_bytes() == sample.read_bytes()
    assert sorted(p.name for p in service.folder("done").iterdir()) == sorted(
        s.name for s in samples
    )
    assert list(service.hotfolder.iterdir()) == []
    assert list(service.folder("spool").iterdir()) == []
    for job in unfinished:
        async with http.get(f"{service.url}/api/jobs/{job['id']}") as response:
            log = [line["message"] for line in (await response.json())["log"]]
        assert any(line.startswith("resuming after restart") for line in log), log
