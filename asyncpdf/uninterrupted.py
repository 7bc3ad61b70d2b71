"""Work that must not be cut in half by a cancellation (a stop): awaited to its end, then the
cancellation goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def uninterrupted(work: Awaitable[T]) -> T:
    """`work`'s result; when the caller is cancelled meanwhile, `work` still finishes first
    and the caller's CancelledError follows."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
