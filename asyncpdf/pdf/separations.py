"""Ink coverage per separation, spot colours included, by Ghostscript's ``psdcmyk`` device: for
pages whose colours ``recoloured`` cannot recolour (it is cheaper where it can).

``psdcmyk`` renders each page into one plane per separation: C, M, Y, K, then every spot
colour the page draws, named in the file (resource 1006). The device seeks in its output, so it
writes a file per page (into a hidden scratch folder); each page is read and removed as soon as
gs has moved on to the next, so at most two pages (about 14 MB each for a 1000 x 700 mm sheet
at 50 dpi with one spot) are on disk at once, and one plane is held in memory. A plane stores
255 for no ink and 0 for full ink; coverage is the mean ink over the page, weighed by tint like
``ink_cov``.

gs reads a copy whose Separation colour spaces have a grey alternate: the device puts a spot on
its own plane and never uses the alternate, but a CMYK one makes gs build an ICC link from CMYK
into the device's colours (as much CPU as measuring five pages); ``-dUseFastColor``
(``INK_RENDERING``) spares the link for the page's own CMYK.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import pikepdf
from PIL import Image

from asyncpdf.errors import GhostscriptError
from asyncpdf.lifetime import die_with_parent
from asyncpdf.pdf.ghostscript import (
    INK_RENDERING,
    gs_path,
    output_name,
    page_list,
    readable_pdf,
    said_by,
)
from asyncpdf.pdf.inks import PROCESS

_HEADER = struct.Struct(">4sH6sHIIHH")
_CHANNEL_NAMES = 1006  # Photoshop's "alpha channel names": the spot planes, in order
_CMYK_MODE = 4
_POLL_S = 0.01
_SHM_NEEDED_MB = 512
# psdcmyk's spot planes per page (Ghostscript's GS_SOFT_MAX_SPOTS); a spot beyond them is put
# on the process plates through its alternate, so the alternates are then left as they are.
_MAX_SPOTS = 10
_NOT_SPOTS = (pikepdf.Name.All, pikepdf.Name("/None"))


def separations(
    source: Path, scratch: Path, timeout_s: float, pages: Sequence[int] | None = None
) -> list[dict[str, float]]:
    """Per page (or per page of ``pages``, 0-based): separation name → coverage in percent.

    Process separations are named ``Cyan``, ``Magenta``, ``Yellow``, ``Black``; spots as the
    file names them (``PANTONE 185 C``, ``Varnish``). Pages are rendered into ``/dev/shm``
    where it is writable and has room, else into ``scratch`` (room for two pages). Raises
    ``GhostscriptError`` when gs fails, times out or writes something that is not the
    expected PSD.
    """
    readable_pdf("separations", source)
    exe = gs_path()
    if exe is None:
        raise GhostscriptError("ghostscript separations: gs is not installed")
    scratch = _in_memory() or scratch
    with (
        tempfile.TemporaryDirectory(prefix=".separations-", dir=scratch) as folder,
        tempfile.TemporaryFile() as errors,
    ):
        output = Path(folder)
        command = [
            exe, "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dQUIET", "-sDEVICE=psdcmyk",
            *INK_RENDERING, *page_list(pages),
            "-sOutputFile=" + output_name(output) + "/p%d.psd",
            str(_grey_alternates(source, output).absolute()),
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=errors,
            stderr=errors,
            preexec_fn=die_with_parent,
        )
        killed = threading.Event()

        def stop() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(timeout_s, stop)
        timer.start()
        try:
            found = _read_as_written(output, process)
        finally:
            timer.cancel()
            process.kill()
            code = process.wait()
        errors.seek(0)
        said = said_by(errors.read().decode("utf-8", "replace"))
    if killed.is_set():
        raise GhostscriptError(f"ghostscript separations timed out after {timeout_s:g} s")
    if code != 0:
        raise GhostscriptError(f"ghostscript separations failed (exit {code}): {said}", code, said)
    if not found:
        raise GhostscriptError(f"ghostscript separations processed no page: {said}", 0, said)
    return found


def _grey_alternates(source: Path, folder: Path) -> Path:
    """A copy of ``source`` in ``folder`` whose Separation colour spaces have a grey alternate
    (the same planes, measured for less, see above); ``source`` itself when it has none, more
    spots than psdcmyk has planes, or pikepdf cannot read it (gs repairs what it can)."""
    try:
        with pikepdf.open(source) as pdf:
            spaces = [space for found in pdf.objects for space in _separation_spaces(found)]
            if not spaces or len({str(space[1]) for space in spaces}) > _MAX_SPOTS:
                return source
            grey = pdf.make_indirect(
                pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[1], C1=[0], N=1)
            )
            for space in spaces:
                space[2], space[3] = pikepdf.Name.DeviceGray, grey
            copy = folder / "grey-alternates.pdf"
            pdf.save(copy)
            return copy
    except pikepdf.PdfError:
        return source


def _separation_spaces(found: object) -> list[pikepdf.Array]:
    """The Separation colour spaces in ``found`` and its direct parts (an indirect part is
    one of ``pdf.objects`` itself). A stack, not recursion: a hostile file may nest deep."""
    spaces: list[pikepdf.Array] = []
    stack = [found]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Array):
            if len(item) == 4 and item[0] == pikepdf.Name.Separation:
                if item[1] not in _NOT_SPOTS:
                    spaces.append(item)
                continue
            parts: list[object] = list(item)
        elif isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
            parts = list(item.values())
        else:
            continue
        stack.extend(
            part for part in parts if not (isinstance(part, pikepdf.Object) and part.is_indirect)
        )
    return spaces


def _in_memory() -> Path | None:
    """``/dev/shm`` where it is writable and roomy: pages are written there and read back at
    once, so memory (tmpfs) saves a disk their bytes. A container's is often 64 MB, too small
    for two pages."""
    shm = Path("/dev/shm")
    try:
        found = os.statvfs(shm)
    except OSError:
        return None
    roomy = found.f_bavail * found.f_frsize >= _SHM_NEEDED_MB << 20
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


def _read_as_written(output: Path, process: subprocess.Popen[bytes]) -> list[dict[str, float]]:
    """Each page's coverage, read once gs has started the next page or ended."""
    found: list[dict[str, float]] = []
    while True:
        page = output / f"p{len(found) + 1}.psd"
        ended = process.poll() is not None
        if ended or (output / f"p{len(found) + 2}.psd").exists():
            if not page.exists():
                return found
            with page.open("rb") as stream:
                found.append(_read_page(stream))
            page.unlink()
        else:
            time.sleep(_POLL_S)


def _exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GhostscriptError("ghostscript separations: the PSD output ends early")
    return data


def _section(stream: IO[bytes]) -> bytes:
    (size,) = struct.unpack(">I", _exactly(stream, 4))
    return _exactly(stream, size)


def _spot_names(resources: bytes) -> list[str]:
    """The Pascal strings of resource 1006, one per spot plane."""
    at = 0
    while at + 6 <= len(resources):
        ident = struct.unpack(">H", resources[at + 4 : at + 6])[0]
        at += 6
        name_size = resources[at]
        at += 1 + name_size
        at += at % 2  # the resource's name is padded to an even size
        (size,) = struct.unpack(">I", resources[at : at + 4])
        at += 4
        data = resources[at : at + size]
        at += size + size % 2
        if ident == _CHANNEL_NAMES:
            names, index = [], 0
            while index < len(data):
                length = data[index]
                names.append(data[index + 1 : index + 1 + length].decode("utf-8", "replace"))
                index += 1 + length
            return names
    return []


def _read_page(stream: IO[bytes]) -> dict[str, float]:
    header = _exactly(stream, _HEADER.size)
    signature, _, _, channels, height, width, depth, mode = _HEADER.unpack(header)
    if signature != b"8BPS" or depth != 8 or mode != _CMYK_MODE or channels < 4:
        raise GhostscriptError(
            f"ghostscript separations: unexpected PSD ({channels} channels, {depth} bits)"
        )
    _section(stream)  # colour mode data
    spots = _spot_names(_section(stream))
    _section(stream)  # layers
    if _exactly(stream, 2) != b"\0\0":
        raise GhostscriptError("ghostscript separations: compressed PSD planes")
    names = [*PROCESS, *spots, *(f"Spot {n}" for n in range(len(spots) + 1, channels - 3))]
    return {
        name: _ink_percent(_exactly(stream, width * height), width, height)
        for name in names[:channels]
    }


def _ink_percent(plane: bytes, width: int, height: int) -> float:
    histogram = Image.frombuffer("L", (width, height), plane, "raw", "L", 0, 1).histogram()
    blank = sum(value * count for value, count in enumerate(histogram))
    return round(100 - 100 * blank / (255 * width * height), 3) if width and height else 0.0
