"""schemathesis against the real service, as a subprocess with finished, failed and rejected
jobs in it: every operation of /api/openapi.json, with and without credentials, a bounded
number of examples and a fixed seed, with every default check but one (below): no server
error, every answer with a documented status, content type and headers and valid against its
schema, and more. 0 failures."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

import aiohttp

from asyncpdf.testing.samples import make_samples
from asyncpdf.web.openapi import DOCUMENT
from tests.support import wait_finished

TOKEN = "schemathesis-token-0123456789"
# Every check schemathesis runs by default (no server error; documented status, content type
# and headers; answers valid against their schemas; bad input refused; credentials heeded;
# a deleted job gone) but one: that every request the document allows is taken. Two cannot
# be said in OpenAPI: /ws answers a websocket handshake only, and an upload's file name must
# end in .pdf.
NOT_CHECKED = "positive_data_acceptance"
EXAMPLES = 25
SEED = 22
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
METHODS = frozenset({"get", "put", "post", "delete", "patch"})
# schemathesis leaves out the operation that serves the document it reads.
OPERATIONS = sum(len(METHODS & item.keys()) for item in DOCUMENT["paths"].values()) - 1


async def _schemathesis(url: str, root: Path, *extra: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{url}/api/openapi.json",
        f"--exclude-checks={NOT_CHECKED}",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--no-color",
        *extra,
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_schemathesis_finds_nothing(
    make_service: Any, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    tokens = [{"name": "schemathesis", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
    service = make_service(web={"auth": {"tokens": tokens}})
    await service.start()
    samples = make_samples(tmp_path / "samples", count=4, seed=22)
    # One job fails (its bureau's folder is blocked by a file), one is rejected (no PDF).
    bureaus = [sample.stem.split("_")[2] for sample in samples]
    blocked = next(bureau for bureau in bureaus if bureaus.count(bureau) == 1)
    service.outbox(blocked).parent.mkdir(parents=True, exist_ok=True)
    service.outbox(blocked).write_bytes(b"in the way")
    for sample in samples:
        shutil.copy(sample, service.hotfolder / sample.name)
    (service.hotfolder / "notes_Korol.pdf").write_bytes(b"not a PDF")
    jobs = await wait_finished(http, service, 5)
    assert {"done", "failed", "rejected"} <= {job["state"] for job in jobs}

    for credentials in (("--header", f"Authorization: Bearer {TOKEN}"), ()):
        code, output = await _schemathesis(service.url, tmp_path, *credentials)
        assert code == 0, output
        # Every operation, none skipped.
        assert f"Tested: {OPERATIONS}" in output and f"Selected: {OPERATIONS}/" in output, output
    # Nothing of the service's own failed on the way (aiohttp's own lines about requests it
    # cannot parse are not the service's).
    assert " ERROR asyncpdf.web" not in service.log_text()
