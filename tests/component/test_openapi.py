"""`/api/openapi.json` is served as built, hangs together (every operation answers
something, every `$ref` resolves, every path parameter is declared) and describes exactly the
routes the app has: every method of every /api/ route, the probes and /ws. The pages, their
static files and the report charts are the page's, not the API's. Every operation's real
answers, successes and errors, have a documented status and content type and are valid
against the schemas generated from `web/schemas.py`; so are the live log's messages."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema_rs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.testing.samples import make_samples
from asyncpdf.web.app import create_app
from asyncpdf.web.keys import SERVICE
from asyncpdf.web.openapi import DOCUMENT
from tests.support import wait_for, write_config

App = TestClient[web.Request, web.Application]
METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head", "trace"})
OUTSIDE_API = frozenset({"/healthz", "/readyz", "/metrics", "/ws"})


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        if path.startswith("/api/") or path in OUTSIDE_API:
            found.add((route.method, path))
    return found


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    parameters = (
        _resolve(DOCUMENT, p["$ref"]) if "$ref" in p else p for p in operation["parameters"]
    )
    return {p["name"] for p in parameters if p["in"] == "path" and p["required"]}


def test_the_document_hangs_together() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    ids = [operation["operationId"] for _, _, operation in _operations(DOCUMENT)]
    assert len(ids) == len(set(ids)), "operationIds repeat"
    for ref in set(_refs(DOCUMENT)):
        _resolve(DOCUMENT, ref)  # a KeyError when it does not resolve
    schemes = DOCUMENT["components"]["securitySchemes"]
    for method, path, operation in _operations(DOCUMENT):
        assert operation["responses"], (method, path)
        assert _path_parameters(operation) == set(re.findall(r"{(\w+)}", path)), (method, path)
        if method != "GET":
            security = operation["security"]
            assert security and all(s.keys() <= schemes.keys() for s in security), path
            assert {} not in security, f"{method} {path} must need credentials"
            assert {"401", "403", "429"} <= operation["responses"].keys(), path


async def test_the_document_describes_exactly_the_apps_routes(client: App) -> None:
    documented = {(method, path) for method, path, _ in _operations(DOCUMENT)}
    routes = _routes(client.app)
    undocumented, unrouted = sorted(routes - documented), sorted(documented - routes)
    assert not undocumented, f"routes missing from the document: {undocumented}"
    assert not unrouted, f"documented, but the app has no such route: {unrouted}"


async def test_it_is_served_to_anyone_as_json(client: App) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == DOCUMENT


# --- every operation's real answers, held to the document --------------------------------

TOKEN = "openapi-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[App]:
    tokens = [{"name": "tests", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]
    config = write_config(tmp_path, web={"auth": {"tokens": tokens}})
    client = TestClient(TestServer(create_app(load_settings(config))))
    await client.start_server()
    yield client
    await client.close()


def _validator(ref: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({"$ref": ref, "components": DOCUMENT["components"]})


def _documented(method: str, path: str, status: int) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method.lower()]
    answer = operation["responses"].get(str(status))
    assert answer is not None, f"{method} {path} answered {status}, which it does not document"
    return dict(_resolve(DOCUMENT, answer["$ref"]) if "$ref" in answer else answer)


async def _conforms(
    response: aiohttp.ClientResponse, path: str, seen: set[tuple[str, str]]
) -> None:
    """The answer is documented for the operation (status, content type) and, as JSON, is
    valid against its schema."""
    method = response.method
    answer = _documented(method, path, response.status)
    content = answer.get("content", {})
    assert response.content_type in content, (method, path, response.content_type)
    if response.content_type == "application/json":
        schema = content["application/json"]["schema"]
        ref = schema.get("$ref")
        body = await response.json()
        if ref is not None:
            _validator(ref).validate(body)
    seen.add((method, path))


async def _finished(api: App, count: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        jobs = (await (await api.get("/api/jobs")).json())["jobs"]
        done = [job for job in jobs if job["finished_at"] is not None]
        return sorted(done, key=lambda job: job["id"]) if len(done) >= count else None

    found: list[dict[str, Any]] = await wait_for(check, 120, f"{count} finished jobs")
    return found


async def test_every_operation_answers_as_documented(api: App, tmp_path: Path) -> None:
    paths = api.app[SERVICE].settings.paths
    samples = make_samples(tmp_path / "samples", count=2, seed=97)
    # The second file's bureau folder is blocked: its delivery fails and can be retried.
    bureau = samples[1].stem.split("_")[2]
    assert bureau != samples[0].stem.split("_")[2]
    (tmp_path / "outbox").mkdir(exist_ok=True)
    (tmp_path / "outbox" / bureau).write_bytes(b"in the way")
    for sample in samples:
        shutil.copy(sample, paths.hotfolder / sample.name)
    done, failed = await _finished(api, 2)
    assert (done["state"], failed["state"]) == ("done", "failed")
    seen: set[tuple[str, str]] = set()

    async def get(url: str, path: str, **kwargs: Any) -> None:
        await _conforms(await api.get(url, **kwargs), path, seen)

    for url in ("/api/status", "/api/jobs?state=done", "/api/jobs.csv", "/api/log?limit=5"):
        await get(url, url.split("?")[0])
    for url in (
        "/api/import-mode",
        "/api/line",
        "/api/reports",
        "/api/reports.csv",
        "/api/openapi.json",
    ):
        await get(url, url)
    for url in ("/healthz", "/readyz", "/metrics"):
        await get(url, url)
    for job in (done, failed):
        await get(f"/api/jobs/{job['id']}", "/api/jobs/{id}")
    await get(f"/api/jobs/{done['id']}/proof.jpg", "/api/jobs/{id}/{what}")
    await get(f"/api/jobs/{done['id']}/original", "/api/jobs/{id}/original")
    # Errors are answers too.
    await get("/api/jobs/999999", "/api/jobs/{id}")
    await get("/api/jobs?since=yesterday", "/api/jobs")
    await get("/api/reports?year=99", "/api/reports")
    await get(f"/api/jobs/{failed['id']}/proof.jpg", "/api/jobs/{id}/{what}")

    put = await api.put("/api/import-mode", json={"import_mode": False}, headers=AUTH)
    await _conforms(put, "/api/import-mode", seen)
    await _conforms(await api.put("/api/import-mode", json={}), "/api/import-mode", seen)
    form = aiohttp.FormData()
    form.add_field("file", samples[0].read_bytes(), filename=f"again {samples[0].name}")
    await _conforms(await api.post("/api/jobs", data=form, headers=AUTH), "/api/jobs", seen)
    retried = await api.post(f"/api/jobs/{failed['id']}/retry", headers=AUTH)
    await _conforms(retried, "/api/jobs/{id}/retry", seen)
    rerun = await api.post(f"/api/jobs/{done['id']}/rerun", headers=AUTH)
    await _conforms(rerun, "/api/jobs/{id}/rerun", seen)
    await _finished(api, 4)
    deleted = await api.delete(f"/api/jobs/{done['id']}", headers=AUTH)
    await _conforms(deleted, "/api/jobs/{id}", seen)
    unauthorised = await api.delete(f"/api/jobs/{done['id']}")
    await _conforms(unauthorised, "/api/jobs/{id}", seen)

    await _conforms(await api.get("/ws"), "/ws", seen)
    ws = await api.ws_connect("/ws?tail=50")
    live = _validator("#/components/schemas/LiveMessage")
    hello = await ws.receive_json()
    assert hello["type"] == "hello" and hello["seq"] > 0
    live.validate(hello)
    for _ in range(min(hello["seq"], 50)):
        live.validate(await ws.receive_json())
    await ws.close()

    assert seen == {(method, path) for method, path, _ in _operations(DOCUMENT)}
