"""Downsample a PDF's images for the preview, in process, with pikepdf and Pillow.

Ghostscript's pdfwrite did this by interpreting and rewriting the whole file; here only the
images that are too fine are touched, so the preview is written in the same pass as the crop.
An image's resolution is where it is drawn: the page content and the forms it calls are
followed with their matrices, and an image drawn several times is resampled for its largest
placement (its lowest resolution), along its own width and height, so no use of it falls below
the target. What cannot be resampled faithfully here is left as it is and counted
(``Downsampled.left``), so the caller can still hand the file to Ghostscript:

- images drawn where this walk does not follow (patterns, Type 3 glyphs, soft masks,
  annotations), when they are large;
- images that are not 8 bits per sample, stencil masks, indexed colours, colour-key masks,
  soft masks with a /Matte, colour spaces of other than 1, 3 or 4 components, and filters other
  than Flate, LZW, RunLength, ASCII85/Hex and DCT (JPX, JBIG2, CCITT).

Samples are averaged (Pillow's box filter), which keeps each ink's mean and so the ink
coverage, and are resampled as stored: the image's /Decode and colour space apply to them
unchanged. They are stored as a JPEG when that is at most half the size of Flate (a photo),
else losslessly with Flate (flat colours, sharp edges), as pdfwrite's automatic choice does;
a CMYK JPEG is written as pdfwrite writes one (the samples as they are, under an Adobe marker
that says so), so it shows wherever pdfwrite's previews showed.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass, field

import pikepdf
from PIL import Image

Name = pikepdf.Name
Matrix = tuple[float, float, float, float, float, float]
Key = tuple[int, int]

IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)
#: Resample only what is finer than this many times the target: less saves too little.
THRESHOLD = 1.25
#: Larger images (decoded) are left to Ghostscript, which resamples them in bands: the pool
#: worker would hold them three times over (stored, decoded, resampled).
MAX_DECODED_BYTES = 128 << 20
#: An image drawn where the walk does not follow, of at least this many pixels, may be too
#: fine: it is counted as left for Ghostscript.
LARGE_PIXELS = 1 << 20
JPEG_QUALITY = 75
#: A JPEG is used only when it is at most this part of the lossless size: loss must buy a lot.
JPEG_AT_MOST = 0.5
_FLATE_CHUNK = 1 << 16
_MAX_DEPTH = 12  # forms calling forms; deeper nesting is not followed
_MODES = {1: "L", 3: "RGB", 4: "CMYK"}
_FILTERS = {Name.FlateDecode, Name.LZWDecode, Name.RunLengthDecode, Name.ASCII85Decode,
            Name.ASCIIHexDecode, Name.DCTDecode}  # fmt: skip
_SPACES = {Name.DeviceGray: 1, Name.CalGray: 1, Name.DeviceRGB: 3, Name.CalRGB: 3, Name.Lab: 3,
           Name.DeviceCMYK: 4}  # fmt: skip
# Resources whose images are drawn in spaces the walk does not follow, and the keys that lead
# from one object to the next below them (resources, soft masks and their groups, appearances).
_ELSEWHERE = ("/Pattern", "/Font", "/ExtGState")
_GROUPS = ("/XObject", *_ELSEWHERE)
_LINKS = ("/Resources", "/SMask", "/G", "/N", "/D", "/R")
# What reading a damaged file or image can raise (ValueError: codecs, Pillow; OSError: Pillow).
_ERRORS = (pikepdf.PikepdfError, KeyError, ValueError, TypeError, OSError)


@dataclass(frozen=True)
class Downsampled:
    """What `downsample_images` did: images resampled, and images too fine that it left;
    `error` says why it did nothing at all."""

    images: int = 0
    left: int = 0
    error: str | None = None


@dataclass
class _Use:
    """An image and the lowest resolution it is drawn at, along its own width and height."""

    image: pikepdf.Object
    dpi_x: float = math.inf
    dpi_y: float = math.inf


@dataclass
class _Uses:
    drawn: dict[Key, _Use] = field(default_factory=dict)
    #: Images (also) drawn where the walk does not follow: never resampled.
    elsewhere: dict[Key, pikepdf.Object] = field(default_factory=dict)
    #: Per form: the images it draws, with their matrices in the form's space.
    forms: dict[Key, list[tuple[pikepdf.Object, Matrix]]] = field(default_factory=dict)
    searched: set[Key] = field(default_factory=set)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s,
            e * p + f * r + t, e * q + f * s + u)  # fmt: skip


def _matrix(value: object) -> Matrix:
    try:
        numbers = [float(v) for v in value]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return IDENTITY
    if len(numbers) != 6:
        return IDENTITY
    return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])


def _subtype(obj: object) -> object:
    return obj.get("/Subtype") if isinstance(obj, pikepdf.Stream) else None


def _draws(
    uses: _Uses, content: pikepdf.Object, resources: object, depth: int
) -> list[tuple[pikepdf.Object, Matrix]]:
    """The images a page or form draws, each with its matrix in that page's or form's space."""
    xobjects = None
    if isinstance(resources, pikepdf.Dictionary):
        _search_elsewhere(uses, resources, depth)
        xobjects = resources.get("/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        return []
    found: list[tuple[pikepdf.Object, Matrix]] = []
    ctm, stack = IDENTITY, []
    for instruction in pikepdf.parse_content_stream(content, "q Q cm Do"):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue  # an inline image: small by nature, and never resampled
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else ctm
        elif op == "cm":
            ctm = _multiply(_matrix(operands), ctm)
        elif operands and isinstance(operands[0], pikepdf.Name):
            xobject = xobjects.get(operands[0])
            if not isinstance(xobject, pikepdf.Stream):
                continue
            subtype = xobject.get("/Subtype")
            if subtype == Name.Image:
                found.append((xobject, ctm))
            elif subtype == Name.Form and depth < _MAX_DEPTH:
                placed = _multiply(_matrix(xobject.get("/Matrix", IDENTITY)), ctm)
                found += [
                    (image, _multiply(m, placed))
                    for image, m in _form(uses, xobject, resources, depth)
                ]
    return found


def _form(
    uses: _Uses, form: pikepdf.Object, outer: object, depth: int
) -> list[tuple[pikepdf.Object, Matrix]]:
    if "/Resources" not in form:  # it draws with its caller's resources: not shared
        return _draws(uses, form, outer, depth + 1)
    key = form.objgen
    if key not in uses.forms:
        uses.forms[key] = []  # a form that calls itself draws nothing more
        uses.forms[key] = _draws(uses, form, form.Resources, depth + 1)
    return uses.forms[key]


def _search_elsewhere(uses: _Uses, resources: pikepdf.Dictionary, depth: int) -> None:
    for kind in _ELSEWHERE:
        group = resources.get(kind)
        if isinstance(group, pikepdf.Dictionary):
            for _name, value in group.items():
                _below(uses, value, depth + 1)


def _below(uses: _Uses, obj: object, depth: int) -> None:
    """Mark every image below `obj` (a pattern, font, graphics state, appearance) as drawn
    elsewhere."""
    if depth > _MAX_DEPTH or not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return
    if isinstance(obj, pikepdf.Stream):
        if _subtype(obj) == Name.Image:
            uses.elsewhere[obj.objgen] = obj
            return
        if obj.objgen in uses.searched:
            return
        uses.searched.add(obj.objgen)
    for key in _LINKS:
        if key in obj:
            _below(uses, obj.get(key), depth + 1)
    for kind in _GROUPS:
        group = obj.get(kind)
        if isinstance(group, pikepdf.Dictionary):
            for _name, value in group.items():
                _below(uses, value, depth + 1)


def _collect(pdf: pikepdf.Pdf) -> _Uses:
    uses = _Uses()
    for page in pdf.pages:
        unit = float(page.obj.get("/UserUnit", 1) or 1)
        for image, matrix in _draws(uses, page.obj, page.obj.get("/Resources"), 0):
            _record(uses, image, _multiply(matrix, (unit, 0, 0, unit, 0, 0)))
        for annotation in page.obj.get("/Annots") or ():
            for appearance in _appearances(annotation):
                _below(uses, appearance, 1)
    return uses


def _appearances(annotation: object) -> list[object]:
    """An annotation's appearance streams: /N, /D and /R, each a stream or one per state."""
    found: list[object] = []
    kinds = annotation.get("/AP") if isinstance(annotation, pikepdf.Dictionary) else None
    if isinstance(kinds, pikepdf.Dictionary):
        for _kind, value in kinds.items():
            found += value.values() if isinstance(value, pikepdf.Dictionary) else [value]
    return found


def _record(uses: _Uses, image: pikepdf.Object, ctm: Matrix) -> None:
    try:
        width, height = int(image.Width), int(image.Height)
    except (AttributeError, TypeError, ValueError):
        uses.elsewhere[image.objgen] = image  # not an image anyone can draw: leave it be
        return
    use = uses.drawn.setdefault(image.objgen, _Use(image))
    across, up = math.hypot(ctm[0], ctm[1]) / 72, math.hypot(ctm[2], ctm[3]) / 72
    if across > 0:
        use.dpi_x = min(use.dpi_x, width / across)
    if up > 0:
        use.dpi_y = min(use.dpi_y, height / up)


def _components(space: object) -> int | None:
    if isinstance(space, pikepdf.Name):
        return _SPACES.get(space)
    if not isinstance(space, pikepdf.Array) or len(space) < 2:
        return None
    family, detail = space[0], space[1]
    if family == Name.ICCBased and isinstance(detail, pikepdf.Stream):
        count = int(detail.get("/N", 0))
        return count if count in _MODES else None
    if family == Name.Separation:
        return 1
    if family == Name.DeviceN and isinstance(detail, pikepdf.Array):
        return len(detail) if len(detail) in _MODES else None
    if isinstance(family, pikepdf.Name) and family in (Name.CalGray, Name.CalRGB, Name.Lab):
        return _SPACES.get(family)
    return None  # Indexed, or not a colour space


def _filters(image: pikepdf.Object) -> list[pikepdf.Object] | None:
    value = image.get("/Filter")
    found: list[pikepdf.Object] = [value] if isinstance(value, pikepdf.Name) else list(value or ())
    return found if all(f in _FILTERS for f in found) else None


def _resamplable(image: pikepdf.Object) -> int | None:
    """The image's number of components when this module can resample it, else None."""
    if image.get("/ImageMask", False) or int(image.get("/BitsPerComponent", 0)) != 8:
        return None
    if isinstance(image.get("/Mask"), pikepdf.Array) or _filters(image) is None:
        return None
    soft = image.get("/SMask")
    if isinstance(soft, pikepdf.Stream) and "/Matte" in soft:
        return None  # with a /Matte, the mask and the image must keep the same size
    return _components(image.get("/ColorSpace"))


def _size(pixels: int, dpi: float, target_dpi: float) -> int:
    if dpi < target_dpi * THRESHOLD:
        return pixels
    return max(1, math.ceil(pixels * target_dpi / dpi))


def _encode(picture: Image.Image) -> tuple[bytes, pikepdf.Name]:
    """The samples as a JPEG or with Flate, whichever the module docstring says."""
    # Pillow inverts CMYK as it writes (Photoshop's way): invert first, so the JPEG holds the
    # samples themselves, as Ghostscript's pdfwrite writes CMYK JPEGs.
    writable = picture.point(lambda value: 255 - value) if picture.mode == "CMYK" else picture
    out = io.BytesIO()
    writable.save(out, format="JPEG", quality=JPEG_QUALITY)
    flate = _flate_unless_over(picture.tobytes(), out.tell() / JPEG_AT_MOST)
    if flate is None or out.tell() <= len(flate) * JPEG_AT_MOST:
        return out.getvalue(), Name.DCTDecode
    return flate, Name.FlateDecode


def _flate_unless_over(data: bytes, limit: float) -> bytes | None:
    """``data`` with Flate (level 6, the bytes ``zlib.compress`` gives), or None as soon as
    that is sure to be over ``limit`` bytes: a photo's JPEG is then chosen without compressing
    the rest."""
    compressor = zlib.compressobj(6)
    parts: list[bytes] = []
    size = 0
    for start in range(0, len(data), _FLATE_CHUNK):
        parts.append(compressor.compress(data[start : start + _FLATE_CHUNK]))
        size += len(parts[-1])
        if size > limit:
            return None
    parts.append(compressor.flush())
    return b"".join(parts)


def _resample(use: _Use, target_dpi: float) -> bool | None:
    """Resample one image in place: True when done, False when it is fine as it is, None when
    it is too fine but cannot be resampled here."""
    image = use.image
    width, height = int(image.Width), int(image.Height)
    size = (_size(width, use.dpi_x, target_dpi), _size(height, use.dpi_y, target_dpi))
    if size == (width, height):
        return False
    components, filters = _resamplable(image), _filters(image)
    if components is None or filters is None:
        return None
    needed = width * height * components
    if needed > MAX_DECODED_BYTES:
        return None
    if Name.DCTDecode in filters and "/DecodeParms" in image:
        return None  # a /ColorTransform that overrides the JPEG's own: left to Ghostscript
    stored = len(image.read_raw_bytes())
    samples = image.read_bytes(pikepdf.StreamDecodeLevel.all)
    if len(samples) < needed:
        return None
    picture = Image.frombytes(_MODES[components], (width, height), samples[:needed])
    data, codec = _encode(picture.resize(size, Image.Resampling.BOX))
    if len(data) >= stored:
        return False  # smaller in pixels but not in bytes: not worth a generation of loss
    image.write(data, filter=codec)
    image.Width, image.Height = size
    return True


def downsample_images(pdf: pikepdf.Pdf, dpi: float) -> Downsampled:
    """Resample, in `pdf` (for the caller to save), every image drawn finer than
    ``THRESHOLD`` x `dpi` down to `dpi`, never below it (sizes round up)."""
    try:
        uses = _collect(pdf)
    except _ERRORS as exc:  # a page or form that cannot be read: its images' uses are unknown
        return Downsampled(error=f"the images' placement could not be read: {exc}")
    done = 0
    left = sum(_large(image) for image in uses.elsewhere.values())
    for key, use in uses.drawn.items():
        if key in uses.elsewhere:
            continue
        try:
            result = _resample(use, dpi)
        except _ERRORS:  # a damaged image: left as it is, for Ghostscript to try
            result = None
        done += result is True
        left += result is None
    return Downsampled(images=done, left=left)


def _large(image: pikepdf.Object) -> bool:
    try:
        return int(image.Width) * int(image.Height) >= LARGE_PIXELS
    except (AttributeError, TypeError, ValueError):
        return False
