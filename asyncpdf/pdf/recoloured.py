"""Ink coverage of pages with spot plates by Ghostscript's ``ink_cov`` on recoloured copies.

``ink_cov`` counts four channels and writes nothing; ``psdcmyk`` (``separations``) writes every
plane of every page: about 1.5 times the CPU on the benchmark's plates. So the spotted pages
are copied (pikepdf) and recoloured, and every copy is read by ``ink_cov`` in one Ghostscript
run, with overprint simulated (each spot on a plane of its own, as on the press):

- the *process copy* gives each spot a blank alternate: a spot then puts no ink on C, M, Y, K,
  removes it where it knocks out and leaves it where it overprints, as on the plates;
- each *spot copy* makes every process colour blank (device colours through the Default colour
  spaces, ICC-based and CIE spaces replaced, process-named separations and DeviceN spaces
  renamed, all with a blank alternate) and gives up to four spots an alternate of one process
  channel each (C, M, Y, K), the other spots a blank one: each of those channels is then one
  spot's plate, with the holes later ink knocks out of it. Images of process colours are drawn
  there as one blank pixel, which covers what the image covers.

The alternates are ICC-based on Ghostscript's own default CMYK profile (``default_cmyk.icc``):
a device space would be replaced by the Default spaces, and any other profile would cost a
colour link. A file whose colours cannot be recoloured so (a DeviceN space with a spot,
transparency, an image whose colours are inside its JPX stream, more spots than the simulation
keeps planes for), or without that profile, is left to ``separations``: ``None``.
"""

from __future__ import annotations

import functools
import re
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pikepdf

from asyncpdf.errors import GhostscriptError
from asyncpdf.pdf.ghostscript import ink_coverage_of
from asyncpdf.pdf.inks import LETTERS, PROCESS

N = pikepdf.Name
_SPOT_CHANNELS = PROCESS
# Overprint simulation keeps up to ten planes beyond C, M, Y, K; the recoloured process colours
# take four of them.
_MAX_SPOTS = 6
_PROFILES = (Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),)
_PROCESS_PLANES = [pikepdf.Name(f"/asyncpdf process {n}") for n in range(1, 5)]
_NOT_SPOTS = {"All", "None", *PROCESS}
_DEVICE = {"/DeviceGray": 1, "/DeviceRGB": 3, "/DeviceCMYK": 4}
_CIE = {"/CalGray", "/CalRGB", "/Lab", "/ICCBased"}
_NORMAL_BLEND = {"/Normal", "/Compatible"}
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def recoloured_coverage(
    source: Path, scratch: Path, timeout_s: float, pages: Sequence[int] | None = None
) -> list[dict[str, float]] | None:
    """Per page (or per page of ``pages``, 0-based): separation name → coverage in percent, as
    ``separations.separations`` gives it (a spot the page does not draw is left out); None when
    the file's colours cannot be recoloured (see above) or pikepdf cannot read it. Raises
    ``GhostscriptError`` when gs fails or times out."""
    with tempfile.TemporaryDirectory(prefix=".recoloured-", dir=scratch) as folder:
        try:
            made = _copies(source, Path(folder), pages)
        except (pikepdf.PdfError, TypeError, ValueError):  # a damaged file: gs repairs more
            return None
        if made is None:
            return None
        copies, spots = made
        found = ink_coverage_of(
            copies, timeout_s, ["-dOverprint=/simulate"], what="ink coverage of spots"
        )
    count = len(found) // len(copies)
    if count * len(copies) != len(found):
        raise GhostscriptError(
            f"ghostscript ink coverage of spots: {len(found)} pages for {len(copies)} copies"
        )
    measured = []
    for page in range(count):
        planes = {name: found[page][LETTERS[name]] for name in PROCESS}
        for number, chunk in enumerate(_chunks(spots), start=1):
            read = found[number * count + page]
            for name, channel in zip(chunk, _SPOT_CHANNELS, strict=False):
                if read[LETTERS[channel]] > 0:
                    planes[name] = read[LETTERS[channel]]
        measured.append(planes)
    return measured


def _chunks(spots: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(spots), len(_SPOT_CHANNELS)):
        yield spots[start : start + len(_SPOT_CHANNELS)]


def _copies(
    source: Path, folder: Path, pages: Sequence[int] | None
) -> tuple[list[Path], list[str]] | None:
    """The process copy and the spot copies of ``pages`` of ``source`` in ``folder``, and the
    spots in the order the spot copies take them; None when a colour cannot be recoloured."""
    profile = _default_cmyk()
    if profile is None:
        return None
    with pikepdf.open(source) as pdf:
        found = _found(pdf, pages)
        if found is None:
            return None
        originals = [(space, _decoded(space[1])) for space in found.separations]
        spots = sorted({name for _, name in originals} - _NOT_SPOTS)
        if len(spots) > _MAX_SPOTS:
            return None
        blank = _tint(pdf, (0, 0, 0, 0))
        for space, name in originals:
            if name not in _NOT_SPOTS:
                space[2], space[3] = N.DeviceCMYK, blank
        copies = [folder / "process.pdf"]
        pdf.save(copies[0])
        icc = pdf.make_indirect(
            pikepdf.Array([N.ICCBased, pdf.make_stream(profile, N=4, Filter=N.FlateDecode)])
        )
        _process_blank(pdf, found, icc)
        for space, name in originals:
            if name in PROCESS:
                space[1] = _PROCESS_PLANES[0]
            if name not in ("All", "None"):
                space[2], space[3] = icc, blank
        for number, chunk in enumerate(_chunks(spots), start=1):
            _on_channels(pdf, originals, chunk, blank)
            copies.append(folder / f"spots-{number}.pdf")
            pdf.save(copies[-1])
    return copies, spots


def _on_channels(
    pdf: pikepdf.Pdf,
    originals: Sequence[tuple[pikepdf.Array, str]],
    chunk: Sequence[str],
    blank: pikepdf.Object,
) -> None:
    """The spots of ``chunk`` on C, M, Y, K in turn (through their alternates), the others
    blank."""
    for space, name in originals:
        if name in chunk:
            channel = [0, 0, 0, 0]
            channel[chunk.index(name)] = 1
            space[3] = _tint(pdf, channel)
        elif name not in _NOT_SPOTS:
            space[3] = blank


@functools.cache
def _default_cmyk() -> bytes | None:
    """The profile, Flate-compressed once per worker (each copy would compress it again)."""
    for path in _PROFILES:
        try:
            return zlib.compress(path.read_bytes())
        except OSError:
            continue
    return None


def _tint(pdf: pikepdf.Pdf, full: Sequence[int]) -> pikepdf.Object:
    return pdf.make_indirect(
        pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0] * 4, C1=list(full), N=1)
    )


def _found(pdf: pikepdf.Pdf, pages: Sequence[int] | None) -> _Found | None:
    """``pdf`` cut to ``pages``, every page with resources of its own or inherited, walked."""
    if pages is not None:
        keep = set(pages)
        for index in reversed(range(len(pdf.pages))):
            if index not in keep:
                del pdf.pages[index]
    for page in pdf.pages:
        if _inherited(page.obj, "/Resources") is None:
            page.obj.Resources = pikepdf.Dictionary()
    found = _Found()
    return found if all(found.walk(item) for item in pdf.objects) else None


class _Found:
    """What a walk over a file's objects finds that recolouring changes or cannot handle."""

    def __init__(self) -> None:
        self.separations: list[pikepdf.Array] = []
        self.device_n: list[pikepdf.Array] = []
        self.cie: list[pikepdf.Array] = []
        self.resources: list[pikepdf.Dictionary] = []
        self.coloured: list[pikepdf.Object] = []  # images and shadings in a device space
        self.process_images: list[pikepdf.Object] = []  # drawn as one blank pixel
        self._seen: set[tuple[int, int]] = set()

    def walk(self, found: object) -> bool:
        """Record ``found`` and its direct parts (a stack, not recursion: a hostile file may
        nest deep); False at something recolouring cannot handle."""
        stack = [found]
        while stack:
            item = stack.pop()
            if isinstance(item, pikepdf.Array):
                kind = str(item[0]) if len(item) and isinstance(item[0], pikepdf.Name) else ""
                if kind == "/Separation":
                    if len(item) != 4 or not isinstance(item[1], pikepdf.Name):
                        return False
                    self.separations.append(item)
                elif kind in ("/DeviceN", "/NChannel"):
                    if len(item) < 4 or not isinstance(item[1], pikepdf.Array):
                        return False
                    if {_decoded(name) for name in item[1]} - _NOT_SPOTS:
                        return False
                    self.device_n.append(item)
                elif kind in _CIE:
                    self.cie.append(item)
                    continue
                parts: list[object] = list(item)
            elif isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
                if not self._dictionary(item):
                    return False
                parts = list(item.values())
            else:
                continue
            stack.extend(
                part
                for part in parts
                if not (isinstance(part, pikepdf.Object) and part.is_indirect)
            )
        return True

    def _dictionary(self, item: pikepdf.Object) -> bool:
        if item.is_indirect:
            if item.objgen in self._seen:
                return True
            self._seen.add(item.objgen)
        smask = item.get("/SMask")
        if smask is not None and smask != N("/None"):
            return False
        group = item.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and group.get("/S") == N.Transparency:
            return False
        blend = item.get("/BM")
        if blend is not None and str(blend) not in _NORMAL_BLEND:
            return False
        if any(_below_one(item.get(key)) for key in ("/CA", "/ca")):
            return False
        if "/Resources" in item and isinstance(item.Resources, pikepdf.Dictionary):
            self.resources.append(item.Resources)
        space = item.get("/ColorSpace")
        image = item.get("/Subtype") == N.Image
        device = isinstance(space, pikepdf.Name) and str(space) in _DEVICE
        if device and (image or "/ShadingType" in item):
            self.coloured.append(item)
        if image and "/JPXDecode" in str(item.get("/Filter", "")) and "/ColorSpace" not in item:
            return False
        if image and not item.get("/ImageMask", False) and "/Mask" not in item:
            kind = space[0] if isinstance(space, pikepdf.Array) and len(space) else space
            if str(kind) in _DEVICE or str(kind) in _CIE:
                self.process_images.append(item)
        return True


def _process_blank(pdf: pikepdf.Pdf, found: _Found, icc: pikepdf.Object) -> None:
    """Every process colour of ``pdf`` blank, each on planes of its own (so that it knocks out
    and overprints the spots as it did): device spaces through the Default colour spaces of
    every resource dictionary and directly in images and shadings, CIE-based spaces replaced,
    process-only DeviceN spaces renamed; images of process colours one blank pixel."""
    blank = {count: _blank_space(pdf, count, icc) for count in (1, 3, 4)}
    for space in found.cie:
        space[:] = list(_blank_space(pdf, _components(space), icc, indirect=False))
    for resources in found.resources:
        spaces = resources.get("/ColorSpace")
        if not isinstance(spaces, pikepdf.Dictionary):
            spaces = resources.ColorSpace = pikepdf.Dictionary()
        for name, count in (("/DefaultGray", 1), ("/DefaultRGB", 3), ("/DefaultCMYK", 4)):
            spaces[name] = blank[count]
    for item in found.coloured:
        item.ColorSpace = blank[_DEVICE[str(item.ColorSpace)]]
    for image in found.process_images:
        image.write(b"\0")
        for key in ("/Decode", "/DecodeParms", "/Filter", "/Interpolate"):
            if key in image:
                del image[key]
        image.Width, image.Height, image.BitsPerComponent = 1, 1, 8
        image.ColorSpace = blank[1]
    for space in found.device_n:
        count = len(space[1])
        space[1] = pikepdf.Array(_PROCESS_PLANES[:count] + [N("/None")] * (count - 4))
        space[2], space[3] = icc, _blank_transform(pdf, count)


def _blank_space(
    pdf: pikepdf.Pdf, count: int, icc: pikepdf.Object, indirect: bool = True
) -> pikepdf.Object:
    names = pikepdf.Array(_PROCESS_PLANES[:count])
    space = pikepdf.Array([N.DeviceN, names, icc, _blank_transform(pdf, count)])
    return pdf.make_indirect(space) if indirect else space


def _blank_transform(pdf: pikepdf.Pdf, count: int) -> pikepdf.Object:
    """A tint transform of ``count`` inputs to no ink."""
    program = ("{" + " pop" * count + " 0 0 0 0 }").encode()
    return pdf.make_stream(program, FunctionType=4, Domain=[0, 1] * count, Range=[0, 1] * 4)


def _components(space: pikepdf.Array) -> int:
    kind = str(space[0])
    if kind == "/CalGray":
        return 1
    if kind == "/ICCBased" and len(space) > 1 and isinstance(space[1], pikepdf.Stream):
        count = int(space[1].get("/N", 0))
        if count not in (1, 3, 4):
            raise ValueError(f"an ICC-based colour space of {count} components")
        return count
    return 3


def _inherited(page: pikepdf.Dictionary, key: str) -> object:
    """``key`` of ``page`` or of the nearest page-tree node above it that has it."""
    node: object = page
    for _ in range(64):  # a hostile page tree may loop
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _below_one(value: object) -> bool:
    try:
        return value is not None and float(value) < 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _decoded(name: object) -> str:
    """A colorant's name as text (``PANTONE 185 C`` for ``/PANTONE#20185#20C``)."""
    raw = str(name).lstrip("/").encode("latin-1", "replace")
    return _ESCAPE.sub(lambda hit: bytes([int(hit[1], 16)]), raw).decode("utf-8", "replace")
