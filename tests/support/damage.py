"""Damage to a good file, for tests of bad input: random (seeded, so a failure can be
replayed) or a known hostile shape."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pikepdf

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


def inflated_paper_mark(path: Path) -> Path:
    """`path` (a sample with the three marks) with its Paper mark's stream padded to inflate to
    640 MB from about 3 MB: a decompression bomb where the analysis reads."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        mark = pdf.pages[0].obj.Resources.XObject["/pssMO3_0"]
        packer = zlib.compressobj(1)
        spaces = b" " * (16 << 20)
        bomb = [packer.compress(mark.read_bytes())]
        bomb += [packer.compress(spaces) for _ in range(40)]
        mark.write(b"".join([*bomb, packer.flush()]), filter=pikepdf.Name.FlateDecode)
        pdf.save(path)
    return path
