"""Random damage to a good file, for tests of bad input (seeded, so a failure can be replayed)."""

from __future__ import annotations

import random

_SPLICES = (b"(", b")", b"<<", b">>", b"[", b"]", b"/", b" 0 R", b"\\", b"999999999 0 R", b"\xd0")


def mutated(data: bytes, rng: random.Random) -> bytes:
    """`data` with a few random byte changes, cuts and PDF tokens spliced in."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        kind = rng.randrange(3)
        if kind == 0:
            out[at] = rng.randrange(256)
        elif kind == 1:
            del out[at : at + rng.randint(1, 40)]
        else:
            out[at:at] = rng.choice(_SPLICES)
    return bytes(out)
