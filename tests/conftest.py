"""Fixtures: the real service as a subprocess or in this process on a temporary shop, and
an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from asyncpdf.config import load_settings
from asyncpdf.web.app import create_app
from tests.support import Service, Shop, write_config


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def make(**overrides: Any) -> Service:
        config = write_config(tmp_path, **overrides)
        port = yaml.safe_load(config.read_text())["web"]["port"]
        service = Service(root=tmp_path, config=config, port=port)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    """The service in this process on a temporary shop, started; stopped after the test."""
    shop = Shop(tmp_path)
    await shop.start()
    yield shop
    await shop.stop()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The app in this process on a temporary shop, called like a client."""
    app = create_app(load_settings(write_config(tmp_path)))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()
