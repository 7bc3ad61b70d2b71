"""How a part of the service says it is well: asked directly, never queued behind work."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str

    def as_json(self) -> dict[str, object]:
        return {"state": "ok" if self.ok else "failing", "detail": self.detail}
