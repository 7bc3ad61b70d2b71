"""Who may change things: a middleware in front of every view.

A change (any method but GET, HEAD, OPTIONS), and with `web.auth.read: protected` every read
too (the probes follow `web.auth.probes`), needs `Authorization: Basic` for a user of
`web.auth.users` or `Authorization: Bearer` for a token of `web.auth.tokens`; else 401 with
`WWW-Authenticate`, so a browser asks for a login. Before the credentials, a change is refused
with 403 when:

- it comes from another site's page: its `Origin` (or, lacking it, its `Referer`) is neither
  the service's own (scheme://host[:port] of the request's Host) nor in `web.origins`. A
  browser sends Basic credentials it has cached to any page's requests, so without this any
  page on the LAN could make an operator's browser switch things (CSRF). No Origin and no
  Referer is no browser page (curl, a script) and may pass on to the credentials;
- no users and no tokens are configured: a change is never allowed silently.

Wrong credentials are counted per client address: after FAILURES_ALLOWED within
FAILURE_WINDOW_S, the address's credentials are refused unchecked with 429 and `Retry-After`
until the oldest of those failures is that old, so passwords and tokens cannot be guessed at
speed. Right ones are never held up unless their own address is waiting. Behind a reverse
proxy every client has the proxy's address, and one guesser makes everyone wait.

`/signin` is a read that needs a Basic login (so a browser asks for one, then sends it with
every request to the service); `Guard.signed_in` names the user a request's login is for.

Under /api/ a refusal is the usual JSON error. Nothing here logs a header, password or token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from asyncpdf.config import Web
from asyncpdf.errors import AsyncPdfError, Forbidden, Unauthorized
from asyncpdf.web.auth_settings import HASH_HINT, AuthSettings, verify_password
from asyncpdf.web.errors import json_errors
from asyncpdf.web.keys import SERVICE

READS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS})
CHALLENGE = 'Basic realm="asyncpdf"'
#: The page's "Sign in" link: a read that needs a login, so the browser asks for one.
SIGN_IN = "/signin"
#: Basic logins remembered as verified: a browser sends them with every request, and each
#: pbkdf2 check takes a good part of a second of CPU.
REMEMBERED = 256
#: pbkdf2 checks at once, so a flood of wrong passwords cannot take every worker thread.
VERIFYING_AT_ONCE = 2
#: Wrong credentials one client address may send within FAILURE_WINDOW_S before it must wait.
FAILURES_ALLOWED = 5
FAILURE_WINDOW_S = 60.0
#: Addresses whose failures are kept (under 1 kB each); the least recently heard is dropped.
ADDRESSES_KEPT = 4096


class TooManyFailures(AsyncPdfError):
    """Credentials from an address that sent too many wrong ones lately: refused unchecked."""

    code = "too_many_failed_logins"
    http_status = 429

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many wrong credentials from this address; try again in {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


class FailedLogins:
    """The recent failed logins of each client address, in a map of bounded size. A right
    login forgets its address's failures: an operator who mistyped is not kept waiting."""

    def __init__(
        self,
        allowed: int = FAILURES_ALLOWED,
        window_s: float = FAILURE_WINDOW_S,
        kept: int = ADDRESSES_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = allowed
        self._window_s = window_s
        self._kept = kept
        self._clock = clock
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def check(self, address: str) -> None:
        """TooManyFailures when `address` must wait before its credentials are checked."""
        times = self._failed.get(address)
        if times is not None and len(times) == self._allowed:
            wait_s = times[0] + self._window_s - self._clock()
            if wait_s > 0:
                raise TooManyFailures(math.ceil(wait_s))

    def failed(self, address: str) -> None:
        times = self._failed.get(address)
        if times is None:
            times = self._failed[address] = deque(maxlen=self._allowed)
            if len(self._failed) > self._kept:
                self._failed.popitem(last=False)
        else:
            self._failed.move_to_end(address)
        times.append(self._clock())

    def succeeded(self, address: str) -> None:
        self._failed.pop(address, None)

    def __len__(self) -> int:
        return len(self._failed)


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return Web.normal_origin(f"{parts.scheme}://{parts.netloc}")


class Guard:
    """The checks, with what they need from the config prepared once."""

    def __init__(self, auth: AuthSettings, origins: Iterable[str], probes: frozenset[str]):
        self._auth = auth
        self._probes = probes
        self._origins = frozenset(o for o in map(Web.normal_origin, origins) if o is not None)
        self._users = {user.name: user.password_hash for user in auth.users}
        # An unknown name is checked against a real hash too, so its answer takes as long.
        self._decoy = auth.users[0].password_hash if auth.users else None
        self._tokens = tuple(bytes.fromhex(token.token_sha256) for token in auth.tokens)
        # Verified logins are remembered by a keyed hash of the header, never the password.
        self._key = secrets.token_bytes(32)
        self._remembered: OrderedDict[bytes, None] = OrderedDict()
        self._verifying = asyncio.Semaphore(VERIFYING_AT_ONCE)
        self._failures = FailedLogins()

    async def check(self, request: web.Request) -> None:
        """Raise Forbidden, Unauthorized or TooManyFailures unless `request` may go on to its
        view."""
        # Signing in needs a login, unless there are no users to sign in as (its page says so).
        if request.method in READS and (request.path != SIGN_IN or not self._auth.users):
            protected = self._auth.probes if request.path in self._probes else self._auth.read
            if protected == "open":
                return
        else:
            if not self._same_site(request):
                raise Forbidden(
                    "changes are accepted from this service's own page only; another page's "
                    "origin must be listed in web.origins"
                )
            if not self._auth.configured:
                raise Forbidden(
                    "changes are refused until credentials are set: add a user to "
                    f"web.auth.users ({HASH_HINT}) or a token to web.auth.tokens"
                )
        header = request.headers.get(hdrs.AUTHORIZATION)
        if not header:
            raise Unauthorized(
                "this needs credentials: Basic (a user of web.auth.users) or Bearer (a token "
                "of web.auth.tokens)"
            )
        await self._check_credentials(request, header)

    async def signed_in(self, request: web.Request) -> str | None:
        """The user whose right Basic login `request` carries; None without one (a wrong one
        counts as a failure, as anywhere)."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            await self._check_credentials(request, header)
        except (Unauthorized, TooManyFailures):
            return None
        return base64.b64decode(value.strip()).decode().partition(":")[0]

    async def _check_credentials(self, request: web.Request, header: str) -> None:
        address = request.remote or ""
        failures = request.app[SERVICE].metrics.login_failures
        try:
            valid = await self._valid(header, address)
        except TooManyFailures:
            failures.labels(reason="throttled").inc()
            raise
        if not valid:
            failures.labels(reason="wrong").inc()
            self._failures.failed(address)
            raise Unauthorized("the credentials given are not right")
        self._failures.succeeded(address)

    @property
    def users(self) -> bool:
        """Whether anyone can sign in (users are configured, not only tokens)."""
        return bool(self._users)

    def _same_site(self, request: web.Request) -> bool:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None:
            given = Web.normal_origin(origin)
        else:
            referer = request.headers.get(hdrs.REFERER)
            if referer is None:
                return True
            given = _origin_of(referer)
        if given is None:  # `Origin: null` (a sandboxed page, a file) or nonsense
            return False
        own = Web.normal_origin(f"{request.scheme}://{request.host}")
        return given == own or given in self._origins

    async def _valid(self, header: str, address: str) -> bool:
        """Whether the credentials are right; TooManyFailures, unchecked, when `address` must
        wait (even for a login remembered as right: the answer would tell a guesser)."""
        self._failures.check(address)
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return self._token_valid(value)
        if scheme.lower() == "basic":
            return await self._login_valid(value, address)
        return False

    def _token_valid(self, token: str) -> bool:
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        valid = False
        for known in self._tokens:  # every one compared: the time says nothing of which
            valid |= hmac.compare_digest(digest, known)
        return valid

    async def _login_valid(self, value: str, address: str) -> bool:
        key = hmac.new(self._key, value.encode("utf-8", "replace"), "sha256").digest()
        if key in self._remembered:
            self._remembered.move_to_end(key)
            return True
        try:
            name, colon, password = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:  # not base64, not UTF-8
            return False
        if not colon or self._decoy is None:
            return False
        known = self._users.get(name)
        async with self._verifying:
            # Checked again once its turn comes, so guesses sent together and queued here
            # stop at the limit (a guess or two more may be under way when it is reached).
            self._failures.check(address)
            # pbkdf2 is CPU work: off the event loop.
            valid = await asyncio.to_thread(verify_password, password, known or self._decoy)
        if not (valid and known is not None):
            return False
        self._remembered[key] = None
        if len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)
        return True


async def _refusal(request: web.Request, error: AsyncPdfError) -> web.StreamResponse:
    if request.path.startswith("/api/"):

        async def refuse(request: web.Request) -> web.StreamResponse:
            raise error

        # The API's one renderer of errors, so the body is the same as any other's.
        response = await json_errors(request, refuse)
    else:
        response = web.Response(status=error.http_status, text=f"{error.http_status}: {error}")
    if isinstance(error, Unauthorized):
        response.headers[hdrs.WWW_AUTHENTICATE] = CHALLENGE
    elif isinstance(error, TooManyFailures):
        response.headers[hdrs.RETRY_AFTER] = str(error.retry_after_s)
    return response


def authentication(guard: Guard) -> Middleware:
    """The middleware for the guard's checks; put it first, outside `json_errors`."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            # No view matches (404, 405): there is nothing to guard, and the answer says so.
            return await handler(request)
        try:
            await guard.check(request)
        except (Forbidden, Unauthorized, TooManyFailures) as error:
            return await _refusal(request, error)
        return await handler(request)

    return authenticate
