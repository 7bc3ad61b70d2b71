"""How a part of the service says it is well: asked directly, never queued behind work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str
    #: More for a person or a probe to read (e.g. each delivery target's record).
    facts: Mapping[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"state": "ok" if self.ok else "failing", "detail": self.detail, **self.facts}
