"""The state of the line that every page shows at a glance (`GET /api/line`): import mode, each
bureau and press target's health (the records behind /readyz's `parts.deliveries.targets`), and
who is signed in; and `/signin`, the page's "Sign in" link.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from asyncpdf.config import Settings
from asyncpdf.sending.targets import TargetRecord
from asyncpdf.web.auth_settings import HASH_HINT
from asyncpdf.web.jsonbody import json_response
from asyncpdf.web.keys import GUARD, SERVICE

log = logging.getLogger(__name__)
NO_USERS = (
    "Signing in is not set up on this service: the person who runs it can add users "
    "(see “Access” in the README)."
)


def configured_targets(settings: Settings) -> list[tuple[str, str]]:
    """(kind, name) of every target the config sends to: each bureau, each press with a
    preview target; named as the delivery records name them ("bureau Leonov")."""
    bureaus = [("bureau", bureau.name) for bureau in settings.bureaus]
    presses = [("press", press.name) for press in settings.presses if press.preview_target]
    return bureaus + presses


def target_states(
    settings: Settings, records: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each configured target with its record (any fields it has), and whether it is ok: a
    target nothing was sent to yet is ok until an attempt fails."""
    states = []
    for kind, name in configured_targets(settings):
        record = {**TargetRecord().as_json(), **records.get(f"{kind} {name}", {})}
        failing = bool(record.get("failures_in_a_row"))
        states.append({**record, "kind": kind, "name": name, "ok": not failing})
    return states


async def line(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    guard = request.app[GUARD]
    return json_response(
        {
            "import_mode": await service.import_mode(),
            "targets": target_states(service.settings, service.target_records()),
            "user": await guard.signed_in(request),
            "can_sign_in": guard.users,
        }
    )


def _back_to(raw: str | None) -> str:
    """Where to go after signing in: a path of this service, never another site."""
    if not raw:
        return "./"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//"):
        return "./"
    return raw


async def sign_in(request: web.Request) -> web.Response:
    """Reached with a right login (the middleware asked for one): back to the page. With no
    users configured, a page saying so; the how-to is for the log and the README."""
    if not request.app[GUARD].users:
        log.warning("someone tried to sign in, but web.auth.users is empty; %s", HASH_HINT)
        return web.Response(status=404, text=NO_USERS)
    raise web.HTTPSeeOther(_back_to(request.query.get("next")))


async def _say_nobody_can_sign_in(app: web.Application) -> None:
    # The operator's page only says nobody can sign in; how to change that is for here, once
    # the service has started (a start that fails stays one line).
    if not app[GUARD].users:
        log.warning(
            "nobody can sign in to the page: web.auth.users is empty, so its buttons (run "
            "again, retry, delete, upload, import mode) stay disabled; %s",
            HASH_HINT,
        )


def setup(app: web.Application) -> None:
    app.on_startup.append(_say_nobody_can_sign_in)
    app.router.add_get("/api/line", line)
    app.router.add_get("/signin", sign_in)
