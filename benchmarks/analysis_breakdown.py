"""Where the analysis time goes: asyncpdf with parts of its work left out, against the floor.

    .venv/bin/python benchmarks/analysis_breakdown.py [--files N] [--repeat R] [--seed S]

On the same generated files as ``analysis.py``, times ``analyze_file`` as it is and with, in
turn, the mark texts not decoded, the marks not read at all, and the marks, inks and plate
sizes not read, each side by side with the floor and the ``objects`` column (the floor plus
the mark objects and colorants any method must load). The parts are left out by patching them
for the run; a variant's figures are what it costs, not a working analysis.

One more row, ``python parse``, prices a PDF reader of our own instead of pikepdf: the time
pure Python takes just to tokenize the objects the analysis reads (trailer, catalog, page
tree, pages, mark forms, their fonts and ToUnicode maps), their bytes already in memory. A
real reader would also find them through the xref, read them from the file and decode
streams, so this is its lower bound.

Prints each one's median over files of each file's best time and its ratio to the floor: the
best of `--repeat` runs, since parts are told apart by differences smaller than this machine's
noise.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import pikepdf
from analysis import ROOT, floor, make_files, mark_objects, times_ms

from asyncpdf.config import load_settings
from asyncpdf.pdf import analysis
from asyncpdf.pdf.marks import MARK_PREFIX
from asyncpdf.pdf.text import TextReader


def best_ms(func: Callable[[], Any], repeat: int) -> float:
    return min(times_ms(func, repeat))


@contextmanager
def without(*parts: tuple[object, str, Any]) -> Iterator[None]:
    with ExitStack() as stack:
        for owner, name, stand_in in parts:
            stack.enter_context(mock.patch.object(owner, name, stand_in))
        yield


NO_TEXT = (TextReader, "form_text", lambda self, form, resources=None: "")
NO_MARKS = (analysis, "page_marks", lambda page, reader=None: [])
NO_INKS = (analysis, "page_inks", lambda page: ())
NO_SIZES = (analysis, "media_size_mm", lambda page, rotate=0: (1000.0, 700.0))

VARIANTS: dict[str, Callable[[], AbstractContextManager[None]]] = {
    "asyncpdf": nullcontext,
    "no text decoded": lambda: without(NO_TEXT),
    "no marks read": lambda: without(NO_MARKS),
    "no marks, inks, sizes": lambda: without(NO_MARKS, NO_INKS, NO_SIZES),
}


# Cut to the bone, which only makes it faster: strings without nested parentheses, escapes and
# #xx in names left undecoded, numbers and keywords kept as bytes.
_TOKEN = re.compile(
    rb"(<<|>>|\[|\])|/([^\s/\[\]<>(){}%]*)|(\d+)\s+(\d+)\s+R|\(((?:[^()\\]|\\.)*)\)"
    rb"|<([0-9A-Fa-f\s]*)>|([^\s/\[\]<>(){}%]+)",
    re.S,
)


def parse_object(data: bytes) -> object:
    stack: list[list[object]] = [[]]
    for match in _TOKEN.finditer(data):
        bracket, name, number, generation, string, hexa, word = match.groups()
        value: object
        if bracket in (b"<<", b"["):
            stack.append([])
            continue
        if bracket is not None:
            items = stack.pop()
            value = dict(zip(items[::2], items[1::2], strict=False)) if bracket == b">>" else items
        elif number is not None:
            value = (int(number), int(generation))
        elif hexa is not None:
            value = bytes.fromhex(hexa.decode())
        else:
            value = name if name is not None else string if string is not None else word
        stack[-1].append(value)
    return stack[0][0] if stack[0] else None


def object_texts(path: Path) -> list[bytes]:
    """The text of each object the analysis reads, once each, as it stands in a PDF."""
    seen: dict[tuple[int, int], bytes] = {}

    def add(obj: pikepdf.Object) -> None:
        if obj.is_indirect and obj.objgen not in seen:
            body = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
            seen[obj.objgen] = body.unparse(resolved=True)

    with pikepdf.open(path) as pdf:
        for obj in (pdf.Root, pdf.Root.Pages, pdf.trailer.get("/Info", pdf.Root)):
            add(obj)
        for page in pdf.pages:
            add(page.obj)
            xobjects = page.obj.Resources.get("/XObject", {})
            for key in xobjects:
                if key.startswith(MARK_PREFIX):
                    add(xobjects[key])
                    fonts = xobjects[key].get("/Resources", {}).get("/Font", {})
                    for font in fonts.values():
                        add(font)
                        add(font.get("/ToUnicode", font))
        return [pdf.trailer.unparse(), *seen.values()]


def run(args: argparse.Namespace) -> None:
    rules = load_settings(ROOT / "config.yaml").rules()
    per_file: dict[str, list[float]] = {
        name: [] for name in ["floor", "objects", *VARIANTS, "python parse"]
    }
    with tempfile.TemporaryDirectory(prefix="asyncpdf-bench-") as tmp:
        samples = make_files(Path(tmp), args.files, args.seed)
        analysis.analyze_file(samples[0].path, rules)  # warm-up
        for sample in samples:
            path = sample.path
            per_file["floor"].append(best_ms(lambda p=path: floor(p), args.repeat))
            per_file["objects"].append(best_ms(lambda p=path: mark_objects(p), args.repeat))
            for name, variant in VARIANTS.items():
                with variant():
                    ms = best_ms(lambda p=path: analysis.analyze_file(p, rules), args.repeat)
                per_file[name].append(ms)
            texts = object_texts(path)
            per_file["python parse"].append(
                best_ms(lambda t=texts: [parse_object(text) for text in t], args.repeat)
            )
    medians = {name: statistics.median(values) for name, values in per_file.items()}
    print(f"{len(samples)} files; median over files of the best of {args.repeat} runs:")
    for name, value in medians.items():
        print(f"  {name:<22} {value:7.3f} ms  {value / medians['floor']:5.2f}× the floor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24, help="files to generate (default 24)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per file (default 15)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated set")
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
