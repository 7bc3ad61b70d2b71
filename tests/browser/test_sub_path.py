"""The pages under a sub-path, as behind nginx's `location /asyncpdf/ { proxy_pass .../; }`:
a small reverse proxy in this process strips the prefix and passes the client's Host on (as
`proxy_set_header Host $http_host` does), for HTTP and the live log's websocket. The grid
follows the hotfolder live, the job page shows the proof, the report draws its charts, and
every request the browser makes stays under the prefix."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType, hdrs, web
from playwright.async_api import Page, async_playwright, expect

from asyncpdf.testing.samples import make_samples
from tests.support import Service
from tests.support.browser import CHROMIUM, DESKTOP, FLAGS, JOB_S, UI_S

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
PREFIX = "/asyncpdf"
# Hop-by-hop headers (RFC 9110 7.6.1) and what aiohttp sets itself for the body it sends.
HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


async def image_shown(page: Page, selector: str) -> None:
    """Every image matching `selector` has loaded and has pixels."""
    await page.wait_for_function(
        """selector => {
            const images = [...document.querySelectorAll(selector)];
            return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
        }""",
        arg=selector,
        timeout=JOB_S,
    )


class SubPathProxy:
    """`/asyncpdf/*` forwarded to the service with the prefix stripped; anything else is
    counted in `strays` and answered 404."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.forwarded: list[str] = []  # the service's paths, as requested through the proxy
        self.strays: list[str] = []  # requests outside the prefix
        self.sockets: set[web.WebSocketResponse] = set()
        self.session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.StreamResponse:
        path = f"/{request.match_info['tail']}"
        self.forwarded.append(path)
        target = f"{self.upstream}{path}"
        if request.query_string:
            target = f"{target}?{request.query_string}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        headers[hdrs.HOST] = request.host  # proxy_set_header Host $http_host
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            return await self.forward_socket(request, target, headers)
        assert self.session is not None
        body = await request.read() if request.can_read_body else None
        async with self.session.request(
            request.method, target, headers=headers, data=body, allow_redirects=False
        ) as answer:
            content = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
            return web.Response(status=answer.status, headers=kept, body=content)

    async def forward_socket(
        self, request: web.Request, target: str, headers: dict[str, str]
    ) -> web.StreamResponse:
        assert self.session is not None
        passed = {
            k: v
            for k, v in headers.items()
            if k.lower() in {"host", "origin", "cookie", "authorization"}
        }
        try:
            upstream = await self.session.ws_connect(target, headers=passed, autoping=True)
        except aiohttp.WSServerHandshakeError as refused:
            return web.Response(status=refused.status, text=refused.message)
        client = web.WebSocketResponse(autoping=True)
        await client.prepare(request)
        self.sockets.add(client)

        async def pump(
            source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
            sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
        ) -> None:
            async for message in source:
                if message.type == WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await sink.send_bytes(message.data)

        try:
            pumps = [
                asyncio.ensure_future(pump(upstream, client)),
                asyncio.ensure_future(pump(client, upstream)),
            ]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            self.sockets.discard(client)
            # The service's own close code (1013 "try again later") goes on to the page; one
            # that no frame may carry (1005, 1006: no code, a dropped connection) does not.
            code = upstream.close_code
            if code is None or code in {1005, 1006, 1015}:
                code = aiohttp.WSCloseCode.GOING_AWAY
            await client.close(code=code)
            await upstream.close()
        return client

    async def stray(self, request: web.Request) -> web.Response:
        self.strays.append(request.path_qs)
        return web.Response(status=404, text="not under the prefix")

    async def close_sockets(self, app: web.Application) -> None:
        for socket in list(self.sockets):
            await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Yields the sub-path's address: http://127.0.0.1:PORT/asyncpdf."""
        app = web.Application()
        app.router.add_route("*", PREFIX + "/{tail:.*}", self.forward)
        app.router.add_route("*", "/{tail:.*}", self.stray)
        app.on_shutdown.append(self.close_sockets)
        runner = web.AppRunner(app, shutdown_timeout=2)
        self.session = aiohttp.ClientSession(auto_decompress=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            yield f"http://{host}:{port}{PREFIX}"
        finally:
            await runner.cleanup()
            await self.session.close()


async def test_pages_under_a_sub_path(make_service, tmp_path: Path) -> None:
    service: Service = make_service()
    await service.start()
    sample = make_samples(tmp_path / "samples", count=1, seed=13)[0]
    proxy = SubPathProxy(service.url)
    requested: list[str] = []

    async with proxy.serving() as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            expect.set_options(timeout=UI_S)
            context = await browser.new_context(viewport=DESKTOP)
            context.set_default_timeout(UI_S)
            context.on("request", lambda request: requested.append(request.url))
            page = await context.new_page()
            page.on("websocket", lambda ws: requested.append(ws.url.replace("ws://", "http://")))

            await page.goto(f"{base}/")
            await expect(page.locator("#connection")).to_have_text("live")  # /ws, proxied
            await expect(page.locator("#empty")).to_contain_text(str(service.hotfolder))
            await expect(page.locator("#export")).to_have_attribute(
                "href", f"{PREFIX}/api/jobs.csv"
            )

            shutil.copy(sample, service.hotfolder / sample.name)
            rows = page.locator("#jobs tbody tr")
            await expect(rows).to_have_count(1, timeout=JOB_S)  # live, before any reload
            await expect(rows).to_contain_text(sample.name)
            await expect(page.locator("#jobs tbody tr.done")).to_have_count(1, timeout=JOB_S)
            await image_shown(page, "#jobs img.thumb")
            await expect(page.locator("#log li").filter(has_text="done")).to_have_count(1)

            await rows.locator("a.job-link").click()
            await page.wait_for_url(re.compile(rf"^{re.escape(base)}/jobs/\d+$"))
            await expect(page.locator("#title")).to_contain_text(sample.name)
            await expect(page.locator("#state")).to_have_text("done")
            await expect(page.locator("#connection")).to_have_text("live")
            await image_shown(page, "#proof")
            proof = await page.locator("#proof-link").get_attribute("href") or ""
            assert re.fullmatch(rf"{PREFIX}/api/jobs/\d+/proof\.jpg\?sheet=1", proof), proof
            await expect(page.locator("#pages tbody tr").first).to_be_visible()

            await page.get_by_role("link", name="Reports", exact=True).click()
            await page.wait_for_url(f"{base}/reports")
            await expect(page.locator("#charts svg")).to_have_count(4)
            assert await page.locator("#charts [data-chart=plates] svg rect").count() > 0
            await expect(page.locator("#monthly tbody tr")).to_have_count(12)
            csv = await page.locator("#csv-report").get_attribute("href") or ""
            assert csv.startswith(f"{PREFIX}/api/reports.csv?year="), csv

            await page.get_by_role("link", name="Jobs", exact=True).click()
            await page.wait_for_url(f"{base}/")
            await expect(page.locator("#jobs tbody tr.done")).to_have_count(1)
            await context.close()
        finally:
            await browser.close()

    assert requested, "the browser requested nothing"
    outside = [url for url in requested if not url.startswith(f"{base}/")]
    assert not outside, f"requests outside {PREFIX}/: {outside}"
    assert not proxy.strays, f"requests at the proxy's root: {proxy.strays}"
    forwarded = set(proxy.forwarded)
    for expected in ("/", "/static/common.js", "/api/status", "/api/line", "/ws", "/reports"):
        assert expected in forwarded, (expected, sorted(forwarded))
    assert any(re.fullmatch(r"/api/jobs/\d+/thumb\.jpg", p) for p in forwarded), forwarded
    assert any(re.fullmatch(r"/reports/\d{4}/plates\.svg", p) for p in forwarded), forwarded
