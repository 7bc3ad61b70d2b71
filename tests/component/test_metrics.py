"""`/metrics` after a burst with failures: Debian's `promtool check metrics` (package
`prometheus`, installed by scripts/test, never started) finds nothing; counters end in
`_total` and have no `_created` series; the content type names the format's version; the
README's table lists exactly the metrics served, each with its type."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from asyncpdf.testing.samples import make_samples
from asyncpdf.web.keys import SERVICE
from tests.support import wait_for

App = TestClient[web.Request, web.Application]
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
README = Path(__file__).parents[2] / "README.md"
_ROW = re.compile(r"^\| `(asyncpdf_\w+)(?:\{[^}]*\})?` \| (\w+) \|", re.MULTILINE)
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)


async def _burst(client: App, tmp_path: Path) -> None:
    paths = client.app[SERVICE].settings.paths
    samples = make_samples(tmp_path / "samples", count=5, seed=61)
    bureaus = [sample.stem.split("_")[2] for sample in samples]
    blocked = next(bureau for bureau in bureaus if bureaus.count(bureau) == 1)
    (tmp_path / "outbox").mkdir(exist_ok=True)
    (tmp_path / "outbox" / blocked).write_bytes(b"in the way")
    for sample in samples:
        shutil.copy(sample, paths.hotfolder / sample.name)
    (paths.hotfolder / "notes_Korol.pdf").write_bytes(b"not a PDF")

    async def finished() -> list[dict[str, Any]] | None:
        jobs = (await (await client.get("/api/jobs")).json())["jobs"]
        done = [job for job in jobs if job["finished_at"] is not None]
        return jobs if len(done) == 6 else None

    jobs = await wait_for(finished, 120, "six finished jobs")
    assert {"done", "failed", "rejected"} <= {job["state"] for job in jobs}


async def test_metrics_pass_promtool_and_match_the_readme(client: App, tmp_path: Path) -> None:
    await _burst(client, tmp_path)
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()

    linted = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr

    served = dict(_TYPE.findall(text))
    assert not [name for name in served if name.endswith("_created")]
    counters = [name for name, kind in served.items() if kind == "counter"]
    assert counters and all(name.endswith("_total") for name in counters)
    assert "asyncpdf_jobs_finished_total" in counters
    assert 'asyncpdf_jobs_finished_total{state="failed"} 1.0' in text

    documented = dict(_ROW.findall(README.read_text()))
    assert documented == served
