"""One delivery at a time gives a file its final name in one folder of one server.

An upload goes to a temporary name; only the last step, looking for a free final name and
renaming onto it, is held here, so two deliveries that want one name (the bureau tag is not
part of delivered names) never both see it free and the second replace the first. Held per
folder, not per name: `name (2).pdf` of one delivery is another's `name.pdf` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Hashable


class Places:
    def __init__(self) -> None:
        # A lock lives while someone holds or waits for it; folders come and go.
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @contextlib.asynccontextmanager
    async def hold(self, folder: Hashable) -> AsyncIterator[None]:
        lock = self._locks.get(folder)
        if lock is None:
            lock = self._locks[folder] = asyncio.Lock()
        async with lock:
            yield
