"""Broken and hostile input: each file ends rejected or failed with a reason an operator
understands, within a bound, without taking the caller or the process pool down with it.

Inputs are made here: raw bytes where a PDF library would refuse to write them (cyclic page tree,
deeply nested arrays), pikepdf and `asyncpdf.testing.samples` for the rest. Cases that could hang or
crash a process (and so the test run) go through a real `Pool`, as in the service.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.config import load_settings
from asyncpdf.pdf.analysis import analyze_file
from asyncpdf.pdf.model import Analysis
from asyncpdf.pipeline.pool import Pool
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from tests.support.damage import inflated_paper_mark, mutated
from tests.support.ghostscript import assert_ghostscript_dies_with_the_job, deep_q_pages

ROOT = Path(__file__).resolve().parents[2]
RULES = load_settings(ROOT / "config.yaml").rules()
#: Seconds a case analysed in this process may take: they are all small files, done in well
#: under a second; the bound tells a hang from a busy machine, it is no measure of speed.
QUICK_S = 60.0
#: The pool's job timeout for the cases that may hang (the service's default is 120 s): a call
#: past it fails its test with JobTimeout, however busy the machine, instead of hanging the run.
POOL_TIMEOUT_S = 60.0
SPEEDMASTER = (1030.0, 770.0)
PT_PER_MM = 72 / 25.4
# An 8x8 px JPEG (made with Pillow once; kept here so the test needs no image library).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERX"
    "RTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAEC"
    "AwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2Jy"
    "ggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWW"
    "l5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEA"
    "AwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMi"
    "MoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0"
    "dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn"
    "6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDNooor3D58/9k="
)


# --- making inputs --------------------------------------------------------------------------


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF with `objects` as objects 1..n (1 is the catalog) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def one_page(page_extra: bytes, *more: bytes) -> bytes:
    """Catalog, a /Pages node and one Speedmaster-sized page dictionary with `page_extra`."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 2920 2183] " + page_extra + b" >>",
            *more,
        ]
    )


def signa_file(path: Path, pages: int = 2, filler_bytes: int = 0) -> Path:
    marks = signa_marks("Leonov", "Speedmaster", (900.0, 640.0))
    return write_sample(
        path, [SamplePage(SPEEDMASTER, marks=marks)] * pages, filler_bytes=filler_bytes
    )


def many_pages(path: Path, count: int) -> Path:
    with pikepdf.new() as pdf:
        for _ in range(count):
            pdf.add_blank_page(page_size=(200, 200))
        pdf.save(path)
    return path


# --- checking outcomes ----------------------------------------------------------------------


def analyse(path: Path, timeout_s: float = QUICK_S) -> Analysis:
    """analyze_file in this process; it must return (not raise) within `timeout_s`, file kept."""
    size = path.stat().st_size
    started = time.monotonic()
    result = analyze_file(path, RULES)
    assert time.monotonic() - started < timeout_s
    assert path.stat().st_size == size, "the analysis changed the file"
    return result


def assert_refused(result: Analysis, *words: str, rejected: bool = True) -> str:
    """The file is rejected (or, with rejected=False, at least failed) with a reason in words."""
    reason = result.error
    assert isinstance(reason, str) and reason, f"no reason given: {result}"
    if rejected:
        assert result.rejected is True, result
    assert any(word in reason.lower() for word in words), f"unclear reason: {reason!r}"
    assert "Traceback" not in reason
    return reason


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    pool = Pool(workers=1, timeout_s=POOL_TIMEOUT_S)
    yield pool
    pool.close()


async def pool_still_answers(pool: Pool) -> None:
    assert await pool.run(pow, 2, 3) == 8


# --- not a PDF at all -----------------------------------------------------------------------


def test_zero_byte_file_is_rejected_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "123_empty_Leonov.pdf"
    path.touch()
    assert_refused(analyse(path), "empty")


def test_text_file_renamed_pdf_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "123_notes_Leonov.pdf"
    path.write_text("Order 123: 5000 leaflets, 4/4, please call back\n" * 50)
    assert_refused(analyse(path), "not a pdf")


def test_jpeg_renamed_pdf_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "123_photo_Leonov.pdf"
    path.write_bytes(JPEG)
    assert_refused(analyse(path), "not a pdf")


def test_jpeg_with_a_pdf_header_in_its_comment_is_rejected(tmp_path: Path) -> None:
    # Passes a "%PDF- in the first KiB" check; must still not be taken for a PDF.
    comment = b"%PDF-1.7 not really"
    path = tmp_path / "123_polyglot_Leonov.pdf"
    path.write_bytes(JPEG[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment)
    path.write_bytes(path.read_bytes() + JPEG[2:])
    assert_refused(analyse(path), "unreadable", "not a pdf", "damaged")


# --- damaged or locked PDFs -----------------------------------------------------------------


async def test_truncated_pdf_is_analysed_or_rejected_never_raises(
    tmp_path: Path, pool: Pool
) -> None:
    whole = signa_file(tmp_path / "whole.pdf", pages=4, filler_bytes=200_000)
    data = whole.read_bytes()
    path = tmp_path / "123_cut_Leonov.pdf"
    path.write_bytes(data[: len(data) // 2])
    for result in (analyse(path), await pool.run(analyze_file, path, RULES)):
        # qpdf rebuilds the cut file, and a rebuilt file is refused as probably incomplete.
        assert_refused(result, "damaged pdf")
        assert "cut off while copying" in (result.error or "")
    await pool_still_answers(pool)


def test_pdf_with_a_user_password_is_rejected_as_encrypted(tmp_path: Path) -> None:
    plain = signa_file(tmp_path / "plain.pdf")
    path = tmp_path / "123_locked_Leonov.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="u", owner="o"))
    reason = assert_refused(analyse(path), "encrypted")
    assert "password" in reason


def test_pdf_with_only_an_owner_password_is_rejected_as_encrypted(tmp_path: Path) -> None:
    plain = signa_file(tmp_path / "plain.pdf")
    path = tmp_path / "123_restricted_Leonov.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="", owner="o"))
    result = analyse(path)
    reason = assert_refused(result, "encrypted")
    assert "owner password" in reason and "without security" in reason
    # What could be read is still reported, for the operator.
    assert [page.press for page in result.pages] == ["Speedmaster", "Speedmaster"]
    assert result.plates == 8


# --- hostile structure (through the pool: these are the ones that could hang or crash) ------


@pytest.mark.parametrize(
    "objects",
    [
        pytest.param(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 2920 2183] >>",
            ],
            id="kids-contain-their-parent",
        ),
        pytest.param(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
            ],
            id="two-nodes-in-a-ring",
        ),
    ],
)
async def test_cyclic_page_tree_is_rejected(
    tmp_path: Path, pool: Pool, objects: list[bytes]
) -> None:
    path = tmp_path / "123_cycle_Leonov.pdf"
    path.write_bytes(raw_pdf(objects))
    result = await pool.run(analyze_file, path, RULES)
    assert_refused(result, "unreadable", "loop", "no pages")
    await pool_still_answers(pool)


DEPTH = 100_000


@pytest.mark.parametrize(
    "page_extra",
    [
        pytest.param(b"/Foo " + b"[" * DEPTH + b"]" * DEPTH, id="in-a-page-value"),
        pytest.param(
            b"/Resources << /XObject << /pssMO1_0 " + b"[" * DEPTH + b"]" * DEPTH + b" >> >>",
            id="as-a-mark",
        ),
    ],
)
async def test_deeply_nested_arrays_are_rejected(
    tmp_path: Path, pool: Pool, page_extra: bytes
) -> None:
    path = tmp_path / "123_nested_Leonov.pdf"
    path.write_bytes(one_page(page_extra))
    result = await pool.run(analyze_file, path, RULES)  # within the pool's job timeout
    # qpdf refuses objects nested deeper than it allows and drops the page that holds them.
    assert_refused(result, "unreadable", "nested", "no pages")
    await pool_still_answers(pool)


async def test_deeply_nested_arrays_in_a_mark_text_do_not_hurt(tmp_path: Path, pool: Pool) -> None:
    """A mark whose content stream shows text from an array nested 100000 deep."""
    mark = stream(
        b"/Type /XObject /Subtype /Form /BBox [0 0 100 100] "
        b"/Resources << /Font << /F1 5 0 R >> >> "
        b"/PieceInfo << /HDAG_SignaMarkInfo << /Private << /CreationName (Machine) >> >> >>",
        b"BT /F1 12 Tf " + b"[" * DEPTH + b"(Machine: Planeta)" + b"]" * DEPTH + b" TJ ET",
    )
    path = tmp_path / "123_nestedtext_Leonov.pdf"
    path.write_bytes(
        one_page(
            b"/Resources << /XObject << /pssMO1_0 4 0 R >> >> /Contents 6 0 R",
            mark,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            stream(b"", b"q /pssMO1_0 Do Q"),
        )
    )
    result = await pool.run(analyze_file, path, RULES)
    # TJ takes a flat array: reading the text or not are both fine; the press is then the
    # mark's or the plate size's. What matters is an answer, not a crash or a hang.
    assert not result.rejected, result
    assert [page.press for page in result.pages] in (["Speedmaster"], ["Planeta"])
    await pool_still_answers(pool)


def test_more_pages_than_max_pages_are_rejected_unread(tmp_path: Path) -> None:
    path = many_pages(tmp_path / "123_thick_Leonov.pdf", 3000)
    reason = assert_refused(analyse(path), "too many pages")
    assert "3000 (the limit is 500" in reason and "max_pages" in reason
    assert analyse(path).pages == ()


# --- once reported bugs, now fixed ------------------------------------------------------


def test_error_for_hundreds_of_pages_stays_readable(tmp_path: Path) -> None:
    path = many_pages(tmp_path / "123_thick_Leonov.pdf", 100)
    result = analyse(path, timeout_s=POOL_TIMEOUT_S)
    assert_refused(result, "no press", rejected=False)
    assert result.error is not None
    assert len(result.error) < 2000, f"the error is {len(result.error)} characters long"


def test_truncated_pdf_is_not_delivered_as_good(tmp_path: Path) -> None:
    whole = signa_file(tmp_path / "whole.pdf", pages=4, filler_bytes=200_000)
    data = whole.read_bytes()
    path = tmp_path / "123_cut_Leonov.pdf"
    path.write_bytes(data[: len(data) // 2])
    result = analyse(path)
    assert_refused(result, "damaged")


def test_page_tree_that_qpdf_cannot_flatten_is_rejected(tmp_path: Path) -> None:
    """A pages node without /Count and a broken page, which makes qpdf raise a runtime error
    (not a PdfError) while repairing: still a rejection naming the problem, not the path."""
    path = signa_file(tmp_path / "123_tree_Leonov.pdf", pages=2)
    data = path.read_bytes().replace(b"/Count", b"/Cxunt", 1)
    last_page = data.rfind(b"<< /Contents")
    path.write_bytes(data[:last_page] + b"<]" + data[last_page + 1 :])
    reason = assert_refused(analyse(path), "unreadable")
    assert "/Count" in reason
    assert str(tmp_path) not in reason


MUTATIONS = 200


def test_mutated_signa_files_end_with_a_reason_never_an_exception(tmp_path: Path) -> None:
    """A bounded fuzz run: every damaged copy of a good file is analysed or refused in words,
    never with an exception, a codec's complaint or the spool path in the reason."""
    good = signa_file(tmp_path / "good.pdf").read_bytes()
    rng = random.Random(20261124)
    outcomes: dict[str, int] = {}
    for case in range(MUTATIONS):
        path = tmp_path / f"{case}_fuzz_Leonov.pdf"
        path.write_bytes(mutated(good, rng))
        result = analyse(path)
        reason = result.error or ""
        if result.rejected:
            assert_refused(result, "pdf")
        assert "codec" not in reason and str(tmp_path) not in reason, reason
        outcome = "rejected" if result.rejected else "failed" if reason else "analysed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path.unlink()
    assert outcomes.get("analysed", 0) > 0 and outcomes.get("rejected", 0) > 0, outcomes


async def test_a_decompression_bomb_in_a_mark_stays_within_the_worker_memory_limit(
    tmp_path: Path,
) -> None:
    """A 3 MB file whose paper mark inflates to 640 MB: with the workers limited to 512 MB the
    mark is reported unreadable (without the limit it would be read, using over 1 GB), the
    rest of the file is analysed, and the worker lives on."""
    path = inflated_paper_mark(signa_file(tmp_path / "123_bomb_Leonov.pdf", pages=1))
    pool = Pool(workers=1, timeout_s=POOL_TIMEOUT_S, memory_mb=512)
    try:
        result = await pool.run(analyze_file, path, RULES)
        assert not result.rejected and [page.press for page in result.pages] == ["Speedmaster"]
        assert dict(result.pages[0].marks)["Paper"] == ""
        assert any("marks partly unreadable" in w for w in result.warnings)
        assert await pool.run(pow, 2, 3) == 8 and pool.replacements == 0
    finally:
        await asyncio.to_thread(pool.close)


def bytes_read_by(path: Path, timeout_s: float) -> tuple[Analysis, int]:
    """analyze_file in a pool worker, and how many bytes this process read meanwhile."""

    def read_so_far() -> int:
        with open("/proc/self/io") as io:
            fields = dict(line.split(": ") for line in io.read().splitlines())
        return int(fields["rchar"])

    before = read_so_far()
    result = analyze_file(path, RULES)
    return result, read_so_far() - before


HUGE = 20 << 30


async def test_huge_sparse_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "123_huge_Leonov.pdf"
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        out.seek(HUGE)
        out.write(b"\0")
    pool = Pool(workers=1, timeout_s=POOL_TIMEOUT_S)
    try:
        result, read = await pool.run(bytes_read_by, path, 5.0)
        assert read < 64 << 20, f"read {read / 2**30:.1f} GiB of a {HUGE / 2**30:.0f} GiB file"
        assert_refused(result, "unreadable", "too large", "damaged")
    finally:
        await pool_still_answers(pool)
        pool.close()
        assert path.stat().st_size == HUGE + 1
        path.unlink()  # sparse, but tools that sum sizes need not see 20 GB left in /tmp


async def test_ghostscript_does_not_outlive_a_timed_out_job(tmp_path: Path) -> None:
    path = deep_q_pages(tmp_path / "123_deepq_Leonov.pdf", 20)
    # Anything under tmp_path: gs may work on the original or on the preview made from it.
    await assert_ghostscript_dies_with_the_job(path, tmp_path / "previews", under=tmp_path)
