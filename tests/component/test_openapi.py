"""`/api/openapi.json` is served as written, hangs together (every operation answers
something, every `$ref` resolves, every path parameter is declared) and describes exactly the
routes the app has: every method of every /api/ route, the probes and /ws. The pages, their
static files and the report charts are the page's, not the API's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from asyncpdf.web.openapi import DOCUMENT

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
