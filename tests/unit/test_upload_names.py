"""An uploaded file's name is cleaned to the last part of its path, without control or
invisible characters, leading dots or edge spaces, in NFC, at most 200 bytes, ending in .pdf;
when nothing like that is left, the client is told why."""

from __future__ import annotations

import unicodedata

import pytest

from asyncpdf.errors import BadRequest
from asyncpdf.web.upload_names import MAX_BYTES, clean_upload_name


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("plates.pdf", "plates.pdf"),
        ("Заказ 1234 Ромашка.pdf", "Заказ 1234 Ромашка.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\x.pdf", "x.pdf"),
        ("C:\\Users\\Оля\\Desktop\\план.PDF", "план.PDF"),
        (".hidden.pdf", "hidden.pdf"),
        ("  ... spaced out .pdf  ", "spaced out.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("line\nbreak\r\ttab\x7f.pdf", "linebreaktab.pdf"),
        ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),
        ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),
        ("para\u2029graph.pdf", "paragraph.pdf"),
        ("йод.pdf".replace("й", "и\u0306"), "йод.pdf"),  # decomposed: composed to NFC
    ],
)
def test_a_name_is_cleaned(raw: str, cleaned: str) -> None:
    assert clean_upload_name(raw) == cleaned


def test_a_long_name_is_cut_at_200_bytes_keeping_its_extension() -> None:
    raw = "Ж" * 200 + ".pdf"  # 400 bytes of stem, two each
    name = clean_upload_name(raw)
    assert name.endswith(".pdf") and len(name.encode()) <= MAX_BYTES
    assert name == "Ж" * 98 + ".pdf"
    odd = clean_upload_name("a" + "Ж" * 200 + ".pdf")  # the cut would split a character
    assert odd == "a" + "Ж" * 97 + ".pdf" and len(odd.encode()) == 199
    assert clean_upload_name("a" * 195 + " . .pdf") == "a" * 195 + ".pdf"
    assert unicodedata.is_normalized("NFC", name)


@pytest.mark.parametrize(
    ("raw", "told"),
    [
        ("", "nothing left"),
        ("...", "nothing left"),
        ("folder/", "nothing left"),
        ("\u202e\x00 ", "nothing left"),
        (".pdf", "must end in .pdf"),
        ("plates.docx", "must end in .pdf"),
        ("plates.pdf\x00.exe", "must end in .pdf"),
        ("x" * 500 + ".exe", "must end in .pdf"),
    ],
)
def test_a_name_without_a_pdf_left_is_refused(raw: str, told: str) -> None:
    with pytest.raises(BadRequest) as refused:
        clean_upload_name(raw)
    message = str(refused.value)
    assert told in message and len(message) < 200
    assert refused.value.http_status == 400
