"""The preview's images downsampled in process (asyncpdf.pdf.downsample, through
crop.write_preview), and the proof rendered once for the thumbnail too (render.render_proofs)."""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageStat

from asyncpdf.pdf import render
from asyncpdf.pdf.crop import write_preview
from asyncpdf.pdf.downsample import Downsampled, downsample_images
from asyncpdf.pdf.ghostscript import gs_path, ink_coverage
from asyncpdf.pdf.render import render_proofs

PT = 72 / 25.4
Name = pikepdf.Name
requires_gs = pytest.mark.skipif(gs_path() is None, reason="Debian's ghostscript is not installed")


def photo(mode: str, side_px: int, seed: int = 1) -> Image.Image:
    """Smooth colours with some grain: like a photo, it compresses a little, not to nothing."""
    rng = random.Random(seed)
    bands = len(mode)
    coarse = Image.frombytes(mode, (8, 8), rng.randbytes(8 * 8 * bands))
    grain = Image.frombytes(mode, (side_px, side_px), rng.randbytes(side_px * side_px * bands))
    return Image.blend(coarse.resize((side_px, side_px), Image.Resampling.BICUBIC), grain, 0.05)


def flate_image(
    pdf: pikepdf.Pdf, picture: Image.Image, space: object, **extra: object
) -> pikepdf.Stream:
    return pdf.make_stream(
        zlib.compress(picture.tobytes(), 1),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=picture.width,
        Height=picture.height,
        ColorSpace=space,
        BitsPerComponent=8,
        Filter=Name.FlateDecode,
        **extra,
    )


def jpeg_image(pdf: pikepdf.Pdf, picture: Image.Image, space: object) -> pikepdf.Stream:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return pdf.make_stream(
        out.getvalue(),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=picture.width,
        Height=picture.height,
        ColorSpace=space,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )


def draw(name: str, x_mm: float, y_mm: float, w_mm: float, h_mm: float | None = None) -> str:
    h_mm = w_mm if h_mm is None else h_mm
    return f"q {w_mm * PT:.4f} 0 0 {h_mm * PT:.4f} {x_mm * PT:.4f} {y_mm * PT:.4f} cm /{name} Do Q"


def one_page(
    path: Path, content: str, xobjects: dict[str, pikepdf.Object], pdf: pikepdf.Pdf
) -> Path:
    page = pdf.add_blank_page(page_size=(200 * PT, 200 * PT))
    page.obj.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary({"/" + name: obj for name, obj in xobjects.items()})
    )
    page.obj.Contents = pdf.make_stream(content.encode())
    pdf.save(path)
    return path


def images(path: Path) -> list[dict[str, object]]:
    """Every image XObject in the file, in object order: its size, filter and stored bytes."""
    with pikepdf.open(path) as pdf:
        return [
            {
                "size": (int(obj.Width), int(obj.Height)),
                "filter": obj.get("/Filter"),
                "space": obj.get("/ColorSpace"),
                "parms": "/DecodeParms" in obj,
                "stored": obj.read_raw_bytes(),
            }
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Image
        ]


def sizes(path: Path) -> list[tuple[int, int]]:
    return [image["size"] for image in images(path)]


SIDE = round(50 / 25.4 * 600)  # 1181 px: 50 mm at 600 dpi


def stored_samples(path: Path, mode: str) -> Image.Image:
    """The one image of `path`, its samples as a reader decodes them (qpdf's libjpeg)."""
    with pikepdf.open(path) as pdf:
        (image,) = (
            obj
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Image
        )
        size = (int(image.Width), int(image.Height))
        return Image.frombytes(mode, size, image.read_bytes(pikepdf.StreamDecodeLevel.all))


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def test_an_image_is_resampled_to_the_target_and_never_below_it(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    picture = photo("CMYK", SIDE)
    image = flate_image(pdf, picture, Name.DeviceCMYK)
    source = one_page(tmp_path / "in.pdf", draw("Im0", 10, 10, 50), {"Im0": image}, pdf)
    made = write_preview(source, tmp_path / "out.pdf", [None], 150)
    assert made == Downsampled(images=1, left=0)
    # 1181 px * 150 / 599.96 dpi = 295.3: rounded up, so the image keeps at least 150 dpi.
    assert sizes(tmp_path / "out.pdf") == [(296, 296)]
    (done,) = images(tmp_path / "out.pdf")
    # A photo: a JPEG, as pdfwrite would make it, holding the samples themselves (CMYK not
    # inverted), averaged from the original's.
    assert done["filter"] == Name.DCTDecode and done["space"] == Name.DeviceCMYK
    assert not done["parms"]
    averaged = picture.resize((296, 296), Image.Resampling.BOX)
    assert mean_difference(stored_samples(tmp_path / "out.pdf", "CMYK"), averaged) < 4


def test_flat_colours_stay_lossless(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    picture = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    for index, colour in enumerate(((200, 0, 0), (0, 120, 0), (0, 0, 90))):
        picture.paste(colour, (index * 300, index * 300, index * 300 + 250, index * 300 + 250))
    image = flate_image(pdf, picture, Name.DeviceRGB)
    source = one_page(tmp_path / "in.pdf", draw("Im0", 10, 10, 50), {"Im0": image}, pdf)
    assert write_preview(source, tmp_path / "out.pdf", [None], 150).images == 1
    (done,) = images(tmp_path / "out.pdf")
    assert done["filter"] == Name.FlateDecode and done["size"] == (296, 296)
    averaged = picture.resize((296, 296), Image.Resampling.BOX)
    assert mean_difference(stored_samples(tmp_path / "out.pdf", "RGB"), averaged) == 0


def test_the_largest_placement_decides_and_each_direction_is_its_own(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = flate_image(pdf, photo("RGB", SIDE), Name.DeviceRGB)
    # 50 mm wide (600 dpi) and 100 mm wide (300 dpi): 300 dpi must stay 150, so 591 px; its
    # height is drawn at 25 mm (1200 dpi) both times: 148 px.
    content = draw("Im0", 0, 0, 50, 25) + " " + draw("Im0", 0, 100, 100, 25)
    source = one_page(tmp_path / "in.pdf", content, {"Im0": image}, pdf)
    write_preview(source, tmp_path / "out.pdf", [None], 150)
    assert sizes(tmp_path / "out.pdf") == [(591, 148)]


def test_images_in_forms_are_placed_through_the_form_matrix(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = flate_image(pdf, photo("L", SIDE), Name.DeviceGray)
    # The form draws the image 100 mm wide in its own space and is scaled by a quarter: 25 mm.
    inner = pdf.make_stream(
        draw("Im0", 0, 0, 100).encode(),
        Type=Name.XObject,
        Subtype=Name.Form,
        BBox=[0, 0, 1000, 1000],
        Matrix=[0.25, 0, 0, 0.25, 0, 0],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
    )
    source = one_page(tmp_path / "in.pdf", "q /Fm0 Do Q", {"Fm0": inner}, pdf)
    write_preview(source, tmp_path / "out.pdf", [None], 150)
    assert sizes(tmp_path / "out.pdf") == [(148, 148)]  # 1200 dpi -> 147.6, rounded up


def test_images_fine_enough_are_left_alone(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = flate_image(pdf, photo("CMYK", 300), Name.DeviceCMYK)
    # 300 px on 42 mm: 181 dpi, less than 1.25 x 150: not worth a resampling.
    source = one_page(tmp_path / "in.pdf", draw("Im0", 10, 10, 42), {"Im0": image}, pdf)
    assert write_preview(source, tmp_path / "out.pdf", [None], 150) == Downsampled()
    assert sizes(tmp_path / "out.pdf") == [(300, 300)]


def test_what_cannot_be_resampled_here_is_counted_and_left(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    palette = pikepdf.String(bytes(random.Random(2).randbytes(256 * 4)))
    indexed = flate_image(
        pdf, photo("L", SIDE), pikepdf.Array([Name.Indexed, Name.DeviceCMYK, 255, palette])
    )
    in_pattern = flate_image(pdf, photo("L", SIDE, seed=3), Name.DeviceGray)
    pattern = pdf.make_stream(
        draw("Im1", 0, 0, 10).encode(),
        Type=Name.Pattern,
        PatternType=1,
        PaintType=1,
        TilingType=1,
        BBox=[0, 0, 10 * PT, 10 * PT],
        XStep=10 * PT,
        YStep=10 * PT,
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im1=in_pattern)),
    )
    content = draw("Im0", 0, 0, 50) + " " + draw("Im1", 100, 100, 50)
    page = pdf.add_blank_page(page_size=(200 * PT, 200 * PT))
    page.obj.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=indexed, Im1=in_pattern),
        Pattern=pikepdf.Dictionary(P0=pattern),
    )
    page.obj.Contents = pdf.make_stream(content.encode())
    source = tmp_path / "in.pdf"
    pdf.save(source)
    # The indexed image cannot be averaged; the other is also drawn in a tiling pattern, at
    # a size this walk does not follow.
    assert write_preview(source, tmp_path / "out.pdf", [None], 150) == Downsampled(left=2)
    assert sizes(tmp_path / "out.pdf") == [(SIDE, SIDE), (SIDE, SIDE)]


def test_a_page_that_cannot_be_read_stops_the_downsampling_not_the_crop(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = flate_image(pdf, photo("L", SIDE), Name.DeviceGray)
    source = one_page(tmp_path / "in.pdf", draw("Im0", 10, 10, 50), {"Im0": image}, pdf)
    with pikepdf.open(source, allow_overwriting_input=True) as broken:
        broken.pages[0].obj.Contents = broken.make_stream(b"not zlib", Filter=Name.FlateDecode)
        broken.save(source)
    made = write_preview(source, tmp_path / "out.pdf", [(10, 10, 60, 60)], 150)
    assert made.images == 0 and made.error and "could not be read" in made.error
    with pikepdf.open(tmp_path / "out.pdf") as out:
        assert [round(float(v) / PT) for v in out.pages[0].mediabox] == [10, 10, 60, 60]


def test_a_jpeg_stays_a_jpeg(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = jpeg_image(pdf, photo("RGB", SIDE), Name.DeviceRGB)
    source = one_page(tmp_path / "in.pdf", draw("Im0", 10, 10, 50), {"Im0": image}, pdf)
    assert write_preview(source, tmp_path / "out.pdf", [None], 150).images == 1
    (done,) = images(tmp_path / "out.pdf")
    assert done["filter"] == Name.DCTDecode and done["size"] == (296, 296)


@requires_gs
@pytest.mark.parametrize("adobe", [True, False], ids=["adobe-marker", "no-marker"])
def test_a_cmyk_jpeg_keeps_its_colours(tmp_path: Path, adobe: bool) -> None:
    pdf = pikepdf.new()
    image = jpeg_image(pdf, photo("CMYK", SIDE), Name.DeviceCMYK)
    if not adobe:  # Pillow always writes the marker; a renamed segment is no marker at all
        image.write(
            image.read_raw_bytes().replace(b"\xff\xee\x00\x0eAdobe", b"\xff\xed\x00\x0eAdobf"),
            filter=Name.DCTDecode,
        )
    source = one_page(tmp_path / "in.pdf", draw("Im0", 0, 0, 50), {"Im0": image}, pdf)
    preview = tmp_path / "out.pdf"
    assert write_preview(source, preview, [None], 150).images == 1
    (done,) = images(preview)
    assert done["filter"] == Name.DCTDecode and done["size"] == (296, 296)
    assert b"\xff\xee\x00\x0eAdobe" in done["stored"][:1000]  # as pdfwrite writes them
    # The samples are the original's, averaged: not inverted, whatever its marker said.
    averaged = stored_samples(source, "CMYK").resize((296, 296), Image.Resampling.BOX)
    assert mean_difference(stored_samples(preview, "CMYK"), averaged) < 4
    # And both readers the service uses see the same colours in both.
    before, after = ink_coverage(source, 30), ink_coverage(preview, 30)
    for ink in "CMYK":
        assert after[0][ink] == pytest.approx(before[0][ink], abs=0.5)
    shown = [ImageStat.Stat(render.render_page(path, 200)).mean for path in (source, preview)]
    assert max(abs(a - b) for a, b in zip(*shown, strict=True)) < 2


def test_downsample_images_leaves_a_file_without_images_alone() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    assert downsample_images(pdf, 150) == Downsampled()


# --- proof and thumbnail from one rendering ------------------------------------------------


def test_the_thumbnail_is_the_proof_made_smaller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = pikepdf.new()
    image = flate_image(pdf, photo("CMYK", 600), Name.DeviceCMYK)
    page = pdf.add_blank_page(page_size=(900 * PT, 640 * PT))
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(
        (draw("Im0", 100, 100, 400) + " 0 1 1 0 k 600 100 200 400 re f").encode()
    )
    source = tmp_path / "sheet.pdf"
    pdf.save(source)
    rendered: list[int] = []
    real = render._rendered

    def counted(pdf: Any, width_px: int, page_index: int = 0) -> Any:
        rendered.append(width_px)
        return real(pdf, width_px, page_index)

    monkeypatch.setattr(render, "_rendered", counted)
    proof, thumb = tmp_path / "proof.jpg", tmp_path / "thumb.jpg"
    assert render_proofs(source, [proof], thumb, 2500, 175) == ((2500, 1778), (175, 124))
    assert rendered == [2500]  # one rendering for both
    with Image.open(proof) as big, Image.open(thumb) as small:
        expected = big.resize(small.size, Image.Resampling.LANCZOS)
        difference = ImageStat.Stat(ImageChops.difference(expected, small)).mean
        assert max(difference) < 3  # JPEG's own noise
    # A thumbnail wider than the proof is rendered on its own, not blown up.
    rendered.clear()
    assert render_proofs(source, [proof], thumb, 100, 175) == ((100, 72), (175, 125))
    assert rendered == [100, 175]
