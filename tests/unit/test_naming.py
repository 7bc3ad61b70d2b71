"""What a plate file's name says: order number, order name and bureau tag; the tag removed."""

from __future__ import annotations

import pytest

from asyncpdf.pdf.naming import NameParts, find_bureau, parse_name, without_tag

BUREAUS = ("Leonov", "Korol", "Vonoel", "Pechatnik", "Admin")


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        pytest.param(
            "12345_Buklet A4_Vonoel.pdf", NameParts("12345", "Buklet A4", "Vonoel"), id="plain"
        ),
        pytest.param(
            "12345_Buklet A4_vonoel.pdf", NameParts("12345", "Buklet A4", "Vonoel"), id="lower-tag"
        ),
        pytest.param(
            "12345_Buklet A4_VONOEL.pdf", NameParts("12345", "Buklet A4", "Vonoel"), id="upper-tag"
        ),
        pytest.param(
            "12345_Leonov_Buklet A4.pdf", NameParts("12345", "Buklet A4", "Leonov"), id="tag-middle"
        ),
        pytest.param(
            "777_Flyer_Korol_A5 sided.pdf",
            NameParts("777", "Flyer_A5 sided", "Korol"),
            id="tag-between-name-parts",
        ),
        pytest.param("Buklet A4_Korol.pdf", NameParts(None, "Buklet A4", "Korol"), id="no-order"),
        pytest.param("12345_Buklet A4.pdf", NameParts("12345", "Buklet A4", None), id="no-bureau"),
        pytest.param("Buklet.pdf", NameParts(None, "Buklet", None), id="neither"),
        pytest.param(
            "20931_Каталог весна_Leonov.pdf",
            NameParts("20931", "Каталог весна", "Leonov"),
            id="cyrillic",
        ),
        pytest.param(
            "20931_Каталог_ПЕЧАТНИК.pdf",
            NameParts("20931", "Каталог_ПЕЧАТНИК", None),
            id="cyrillic-not-a-bureau",
        ),
        pytest.param(
            "12345_Leonovich_Buklet.pdf",
            NameParts("12345", "Leonovich_Buklet", None),
            id="substring-is-not-a-tag",
        ),
        pytest.param(
            "12345_Leonovich_Buklet_Leonov.pdf",
            NameParts("12345", "Leonovich_Buklet", "Leonov"),
            id="substring-and-real-tag",
        ),
        pytest.param(
            "12345_Buklet Leonov_Admin.pdf",
            NameParts("12345", "Buklet Leonov", "Admin"),
            id="bureau-word-inside-a-part",
        ),
        pytest.param(
            "12345_Buklet_Vonoel.PDF", NameParts("12345", "Buklet", "Vonoel"), id="upper-ext"
        ),
        pytest.param(
            "12345 Buklet_Vonoel.pdf",
            NameParts("12345", "Buklet", "Vonoel"),
            id="space-after-order",
        ),
        pytest.param(
            "12345-Buklet_Vonoel.pdf", NameParts("12345", "Buklet", "Vonoel"), id="dash-after-order"
        ),
        pytest.param(
            "12345_Buklet_ Vonoel .pdf", NameParts("12345", "Buklet", "Vonoel"), id="padded-tag"
        ),
        pytest.param(
            "12345_Buklet v1.2_Korol.pdf",
            NameParts("12345", "Buklet v1.2", "Korol"),
            id="dots-in-name",
        ),
        pytest.param("12345_Vonoel.pdf", NameParts("12345", "", "Vonoel"), id="only-order-and-tag"),
        pytest.param(
            "Buklet_2024_Admin.pdf", NameParts(None, "Buklet_2024", "Admin"), id="digits-not-first"
        ),
    ],
)
def test_parse_name(file_name: str, expected: NameParts) -> None:
    assert parse_name(file_name, BUREAUS) == expected


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("12345_Buklet A4_Vonoel.pdf", "Vonoel"),
        ("12345_Buklet A4_pechatnik.pdf", "Pechatnik"),
        ("12345_ADMIN_Buklet.pdf", "Admin"),
        ("20931_Каталог весна_Leonov.PDF", "Leonov"),
        ("12345_Leonovich.pdf", None),
        ("12345_Korolev_Vonoelx.pdf", None),
        ("12345 Leonov.pdf", None),  # a tag is a whole `_`-separated part
        ("Leonov", "Leonov"),
        ("12345_Buklet.pdf", None),
    ],
)
def test_find_bureau(file_name: str, expected: str | None) -> None:
    assert find_bureau(file_name, BUREAUS) == expected


def test_find_bureau_returns_the_configured_spelling() -> None:
    assert find_bureau("1_x_KOROL.pdf", ["Korol"]) == "Korol"
    assert find_bureau("1_x_korol.pdf", []) is None


def test_find_bureau_ignores_the_extension() -> None:
    # `x_Korol.pdf`: the extension is not part of the last tag; `x.Korol` has no tag at all.
    assert find_bureau("x_Korol.pdf", BUREAUS) == "Korol"
    assert find_bureau("x.Korol", BUREAUS) is None


@pytest.mark.parametrize(
    ("file_name", "tag", "expected"),
    [
        ("12345_Buklet A4_Vonoel.pdf", "Vonoel", "12345_Buklet A4.pdf"),
        ("12345_Buklet A4_vonoel.pdf", "Vonoel", "12345_Buklet A4.pdf"),
        ("12345_Buklet A4_Vonoel.pdf", "VONOEL", "12345_Buklet A4.pdf"),
        ("12345_Leonov_Buklet A4.pdf", "Leonov", "12345_Buklet A4.pdf"),
        ("20931_Каталог весна_Leonov.pdf", "Leonov", "20931_Каталог весна.pdf"),
        ("12345_Buklet_Vonoel.PDF", "Vonoel", "12345_Buklet.PDF"),
        ("12345_Leonovich_Leonov.pdf", "Leonov", "12345_Leonovich.pdf"),
        ("12345_Buklet v1.2_Korol.pdf", "Korol", "12345_Buklet v1.2.pdf"),
        ("12345_Buklet_ Vonoel .pdf", "Vonoel", "12345_Buklet.pdf"),
        ("12345_Buklet.pdf", "Vonoel", "12345_Buklet.pdf"),
        ("12345_Buklet_Vonoel", "Vonoel", "12345_Buklet"),
    ],
)
def test_without_tag(file_name: str, tag: str, expected: str) -> None:
    assert without_tag(file_name, tag) == expected


@pytest.mark.parametrize(
    "file_name",
    [
        "12345_Buklet A4_Vonoel.pdf",
        "12345_Leonov_Buklet A4.pdf",
        "20931_Каталог весна_leonov.PDF",
        "Buklet_Korol.pdf",
    ],
)
def test_without_tag_agrees_with_parse_name(file_name: str) -> None:
    parts = parse_name(file_name, BUREAUS)
    assert parts.bureau is not None
    plain = without_tag(file_name, parts.bureau)
    assert find_bureau(plain, BUREAUS) is None
    assert parse_name(plain, BUREAUS) == NameParts(parts.order, parts.order_name, None)
    assert plain.rsplit(".", 1)[1] == file_name.rsplit(".", 1)[1]


@pytest.mark.parametrize("file_name", ["Vonoel.pdf", "vonoel.PDF", "_Vonoel_.pdf", "Vonoel"])
def test_without_tag_never_leaves_only_the_extension(file_name: str) -> None:
    # A name that is nothing but the tag must not become `.pdf`, a hidden file at the bureau.
    plain = without_tag(file_name, "Vonoel")
    assert plain.strip("_")
    assert not plain.startswith(".")
