"""Text of form XObjects: real PDFs built with pikepdf, saved and reopened, then read back."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.pdf.encodings import glyph_to_unicode, parse_tounicode, split_codes
from asyncpdf.pdf.text import TextReader, form_text

Name = pikepdf.Name


def standard_font(pdf: pikepdf.Pdf, base: str, encoding: object = None) -> pikepdf.Object:
    font = pikepdf.Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name("/" + base))
    if encoding is not None:
        font.Encoding = encoding
    return pdf.make_indirect(font)


def form(
    pdf: pikepdf.Pdf,
    content: bytes,
    fonts: dict[str, pikepdf.Object] | None = None,
    xobjects: dict[str, pikepdf.Object] | None = None,
) -> pikepdf.Object:
    """A form XObject drawing `content`, with its own resources when any are given."""
    stream = pikepdf.Stream(pdf, content)
    stream.Type = Name.XObject
    stream.Subtype = Name.Form
    stream.BBox = [0, 0, 500, 100]
    resources = pikepdf.Dictionary()
    if fonts:
        resources.Font = pikepdf.Dictionary({"/" + k: v for k, v in fonts.items()})
    if xobjects:
        resources.XObject = pikepdf.Dictionary({"/" + k: v for k, v in xobjects.items()})
    if fonts or xobjects:
        stream.Resources = resources
    return pdf.make_indirect(stream)


Reopen = Callable[[pikepdf.Pdf, pikepdf.Object], pikepdf.Object]


@pytest.fixture
def reopen(tmp_path: Path) -> Iterator[Reopen]:
    """Put a form on a page, save the file, open it again and give back the form from the file."""
    opened: list[pikepdf.Pdf] = []

    def save_and_open(pdf: pikepdf.Pdf, top: pikepdf.Object) -> pikepdf.Object:
        pdf.add_blank_page(page_size=(500, 100))
        page = pdf.pages[0]
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Top=top))
        page.obj.Contents = pdf.make_stream(b"q /Top Do Q")
        path = tmp_path / f"text{len(opened)}.pdf"
        pdf.save(path)
        opened.append(pikepdf.open(path))
        found: pikepdf.Object = opened[-1].pages[0].obj.Resources.XObject.Top
        return found

    yield save_and_open
    for pdf in opened:
        pdf.close()


def hex_of(data: bytes) -> bytes:
    return b"<" + data.hex().encode() + b">"


# ---- simple fonts -------------------------------------------------------------------------------


def test_winansi_non_ascii(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    text = "Café „Zürich“ kostet 5 € — «oui»"
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    top = form(pdf, b"BT /F1 10 Tf " + hex_of(text.encode("cp1252")) + b" Tj ET", {"F1": font})
    assert form_text(reopen(pdf, top)) == text


def test_standard_encoding_is_the_default_for_latin_standard_fonts(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Times-Roman")  # no /Encoding: StandardEncoding
    top = form(
        pdf,
        rb"BT /F1 10 Tf (It\047s `quoted\047 \241Hola! \256ne \341 \361 1\2442) Tj ET",
        {"F1": font},
    )
    assert form_text(reopen(pdf, top)) == "It’s ‘quoted’ ¡Hola! fine Æ æ 1⁄2"


def test_mac_roman_and_symbol(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    mac = standard_font(pdf, "Helvetica", Name.MacRomanEncoding)
    symbol = standard_font(pdf, "Symbol")
    top = form(pdf, b"BT /M 9 Tf (Caf\216) Tj /S 9 Tf (abg) Tj ET", {"M": mac, "S": symbol})
    assert form_text(reopen(pdf, top)) == "Caféαβγ"


def test_differences_with_afii_and_uni_names(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    # A cp1251 layout spelled in glyph names, as Cyrillic Type 1 fonts are encoded.
    upper = [Name(f"/afii{n}") for n in range(10017, 10050) if n != 10023]  # А..Я without Ё
    lower = [Name(f"/afii{n}") for n in range(10065, 10098) if n != 10071]  # а..я without ё
    differences = pikepdf.Array([192, *upper, *lower, 168, Name("/uni0401"), 130, Name.uni041C])
    encoding = pikepdf.Dictionary(
        Type=Name.Encoding, BaseEncoding=Name.WinAnsiEncoding, Differences=differences
    )
    font = standard_font(pdf, "PragmaticaC", encoding)
    text = "Бумага: 900.0 x 640.0 Ёлка ЮЯюя"
    shown = hex_of(text.encode("cp1251")) + b" Tj (\202) Tj"
    top = form(pdf, b"BT /F1 10 Tf " + shown + b" ET", {"F1": font})
    assert form_text(reopen(pdf, top)) == text + "М"


def test_glyph_names() -> None:
    assert glyph_to_unicode("afii10017") == "А"
    assert glyph_to_unicode("afii10097") == "я"
    assert glyph_to_unicode("uni041C") == "М"
    assert glyph_to_unicode("u1F600") == "😀"
    assert glyph_to_unicode("quoteright") == "’"
    assert glyph_to_unicode("f_i") == "fi"
    assert glyph_to_unicode("g17") == ""
    assert glyph_to_unicode(".notdef") == ""


def test_type3_with_unknown_glyph_names_gives_no_garbage(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    encoding = pikepdf.Dictionary(
        Differences=[65, Name("/g1"), Name("/g2"), Name.uni041C, Name.afii10065]
    )
    font = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.Type3,
        Encoding=encoding,
        FontBBox=[0, 0, 1, 1],
        FontMatrix=[0.001, 0, 0, 0.001, 0, 0],
        CharProcs=pikepdf.Dictionary(),
    )
    top = form(pdf, b"BT /T3 10 Tf (ABCD) Tj ET", {"T3": pdf.make_indirect(font)})
    assert form_text(reopen(pdf, top)) == "Ма"


def test_simple_font_tounicode_overrides_the_encoding(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    cmap = pdf.make_stream(
        b"begincmap 1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"1 beginbfchar <41> <0416> endbfchar endcmap"
    )
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    font.ToUnicode = cmap
    top = form(pdf, b"BT /F1 10 Tf (ABC) Tj ET", {"F1": font})
    assert form_text(reopen(pdf, top)) == "ЖBC"


def test_builtin_encoding_of_an_embedded_type1_program(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    clear = (
        b"%!PS-AdobeFont-1.0: Test\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n"
        b"dup 65 /afii10017 put\ndup 66 /afii10066 put\nreadonly def\ncurrentfile eexec\n"
    )
    program = pdf.make_stream(clear + b"\x00" * 16, Length1=len(clear), Length2=16, Length3=0)
    font = standard_font(pdf, "ABCDEF+Cyr")
    font.FontDescriptor = pikepdf.Dictionary(Type=Name.FontDescriptor, FontFile=program)
    top = form(pdf, b"BT /F1 10 Tf (ABC) Tj ET", {"F1": font})
    assert form_text(reopen(pdf, top)) == "Аб"


# ---- Type 0 fonts ---------------------------------------------------------------------------

CYRILLIC_CMAP = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
3 beginbfrange
<0100> <011F> <0430>
<0200> <021F> [<0410> <0411> <0412> <0413> <0414> <0415> <0416> <0417> <0418> <0419> <041A>
 <041B> <041C> <041D> <041E> <041F> <0420> <0421> <0422> <0423> <0424> <0425> <0426> <0427>
 <0428> <0429> <042A> <042B> <042C> <042D> <042E> <042F>]
<0300> <0301> <D83DDE00>
endbfrange
4 beginbfchar
<0003> <0020>
<0004> <003A>
<0005> <002E>
<0006> <0066 0069>
endbfchar
1 beginbfrange
<0010> <0019> <0030>
endbfrange
1 beginbfrange
<0020> <0039> <0061>
endbfrange
1 beginbfrange
<0040> <0059> <0041>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def cids(text: str) -> bytes:
    """The 2-byte codes CYRILLIC_CMAP maps to `text`."""
    special = {" ": 3, ":": 4, ".": 5}
    codes = []
    for char in text:
        if char in special:
            codes.append(special[char])
        elif "а" <= char <= "я":
            codes.append(0x100 + ord(char) - ord("а"))
        elif "А" <= char <= "Я":
            codes.append(0x200 + ord(char) - ord("А"))
        elif char.isdigit():
            codes.append(0x10 + int(char))
        elif "a" <= char <= "z":
            codes.append(0x20 + ord(char) - ord("a"))
        else:
            codes.append(0x40 + ord(char) - ord("A"))
    return b"".join(code.to_bytes(2, "big") for code in codes)


def type0_font(
    pdf: pikepdf.Pdf, tounicode: bytes | None, encoding: str = "/Identity-H"
) -> pikepdf.Object:
    descendant = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name("/ABCDEF+PTSans-Regular"),
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        CIDToGIDMap=Name.Identity,
    )
    font = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=Name("/ABCDEF+PTSans-Regular"),
        Encoding=Name(encoding),
        DescendantFonts=[pdf.make_indirect(descendant)],
    )
    if tounicode is not None:
        font.ToUnicode = pdf.make_stream(zlib.compress(tounicode), Filter=Name.FlateDecode)
    return pdf.make_indirect(font)


def test_type0_identity_h_with_tounicode_ranges_arrays_and_chars(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = type0_font(pdf, CYRILLIC_CMAP)
    content = b"BT /C0 8 Tf " + hex_of(cids("Выведено: Vonoel")) + b" Tj ET"
    content += b" BT /C0 8 Tf [" + hex_of(cids("Бумага: 900.0")) + b"] TJ ET"
    content += b" BT /C0 8 Tf <00060300 0301> Tj ET"
    top = form(pdf, content, {"C0": font})
    text = form_text(reopen(pdf, top))
    assert text == "Выведено: Vonoel Бумага: 900.0 fi😀😁"


def test_type0_without_tounicode_gives_nothing_and_names_the_font(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = type0_font(pdf, None)
    helvetica = standard_font(pdf, "Helvetica")
    top = form(
        pdf, b"BT /C0 8 Tf <002B00480051> Tj /F1 8 Tf (ok) ' ET", {"C0": font, "F1": helvetica}
    )
    reader = TextReader()
    assert reader.form_text(reopen(pdf, top)) == "ok"
    assert reader.unreadable == {"/ABCDEF+PTSans-Regular"}


def test_type0_with_a_predefined_unicode_cmap(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = type0_font(pdf, None, "/UniCNS-UCS2-H")
    top = form(
        pdf, b"BT /C0 8 Tf " + hex_of("Машина".encode("utf-16-be")) + b" Tj ET", {"C0": font}
    )
    assert form_text(reopen(pdf, top)) == "Машина"


def test_type0_codes_in_the_surrogate_range_are_codes_not_pairs(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    cmap = b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
    cmap += b"3 beginbfchar <D83D> <0041> <DE00> <0042> <0041> <0043> endbfchar"
    font = type0_font(pdf, cmap)
    top = form(pdf, b"BT /C0 8 Tf <D83DDE000041> Tj <D83D> Tj ET", {"C0": font})
    assert form_text(reopen(pdf, top)) == "ABCA"


def test_cmap_with_mixed_code_lengths() -> None:
    cmap = parse_tounicode(
        b"2 begincodespacerange <00> <7F> <8140> <9FFC> endcodespacerange\n"
        b"2 beginbfchar <41> <0041> <8140> <3000> endbfchar\n"
        b"1 beginbfrange <8141> <8143> <3001> endbfrange"
    )
    codes = split_codes(b"A\x81\x40\x81\x42A", cmap.codespace, 2)
    assert codes == [0x41, 0x8140, 0x8142, 0x41]
    assert "".join(cmap.lookup(code) or "" for code in codes) == "A\u3000\u3002A"


def test_hostile_cmaps_do_not_raise() -> None:
    assert parse_tounicode(b"").chars == {}
    broken = parse_tounicode(
        b"1 begincodespacerange <0000> endcodespacerange "
        b"beginbfrange <FFFF> <0000> <0041> <0001> endbfrange "
        b"beginbfchar <zz> <0041> <0001> endbfchar [ ( unbalanced"
    )
    assert broken.lookup(0) is None
    huge = parse_tounicode(b"1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange")
    assert huge.lookup(0x20) == "a"
    assert parse_tounicode(b"(" * 200_000).chars == {}  # unclosed strings: one pass, no rescans
    # Many ranges, listed out of order: found by binary search.
    lines = [b"<%04X> <%04X> <%04X>" % (i * 4, i * 4 + 1, 0x400 + i) for i in range(3000)]
    many = parse_tounicode(b"beginbfrange " + b"\n".join(reversed(lines)) + b" endbfrange")
    codes = (0, 1, 2, 4, 4 * 2999 + 1, 4 * 3000)
    assert [many.lookup(code) for code in codes] == ["Ѐ", "Ё", None, "Ё", chr(0x400 + 3000), None]


# ---- operators, spacing, structure ------------------------------------------------------------


def test_tj_kerning_word_gaps_and_line_operators(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    content = (
        b"BT /F1 9 Tf [(Ma) 20 (chine) -30.5 (:) -250 (Speed) 15 (mas) -199 (ter)] TJ"
        b" 0 -12 Td (next) Tj T* (line) Tj 1 0 0 1 5 5 Tm (moved) Tj"
        b" (quote) ' 2 1 (dquote) \" ET BT (second) Tj ET"
    )
    top = form(pdf, content, {"F1": font})
    assert form_text(reopen(pdf, top)) == (
        "Machine: Speedmaster next line moved quote dquote second"
    )


def test_whitespace_is_normalised(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    top = form(
        pdf, b"BT /F1 9 Tf (  Vonoel     Speedmaster\t900,0\r\nx 640,0  ) Tj ET", {"F1": font}
    )
    assert form_text(reopen(pdf, top)) == "Vonoel Speedmaster 900,0 x 640,0"


def test_nested_forms_and_inherited_resources(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    cyrillic = type0_font(pdf, CYRILLIC_CMAP)
    helvetica = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    # The innermost form has no resources: it uses the font its parent selected and resources
    # its parent has; the middle one has its own font.
    inner = form(pdf, b"/F1 8 Tf (inner) Tj")
    middle = form(
        pdf, b"BT /C0 8 Tf " + hex_of(cids("Машина:")) + b" Tj ET /In Do", {"C0": cyrillic}
    )
    middle.Resources.XObject = pikepdf.Dictionary(In=inner)
    top = form(
        pdf,
        b"q 0 1 -1 0 0 0 cm /Mid Do Q BT /F1 8 Tf (Speedmaster) Tj ET",
        {"F1": helvetica},
        {"Mid": middle},
    )
    assert form_text(reopen(pdf, top)) == "Машина: inner Speedmaster"


def test_a_form_without_resources_uses_the_callers() -> None:
    pdf = pikepdf.new()
    helvetica = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    bare = form(pdf, b"BT /F1 8 Tf (from the page) Tj ET")
    page_resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica))
    assert form_text(bare, resources=page_resources) == "from the page"
    reader = TextReader()
    assert reader.form_text(bare) == ""
    assert reader.unreadable == {"(no font or a missing one)"}


def test_extgstate_font(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    helvetica = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    top = form(pdf, b"BT /GS1 gs (via gs) Tj ET")
    top.Resources = pikepdf.Dictionary(
        ExtGState=pikepdf.Dictionary(GS1=pikepdf.Dictionary(Font=[helvetica, 9]))
    )
    assert form_text(reopen(pdf, top)) == "via gs"


def test_saved_state_restores_the_font(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    win = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    std = standard_font(pdf, "Times-Roman")
    top = form(pdf, b"BT /W 9 Tf q /S 9 Tf (\\140) Tj Q (\\140) Tj ET", {"W": win, "S": std})
    assert form_text(reopen(pdf, top)) == "‘`"


def test_forms_that_draw_themselves_terminate(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    selfish = form(pdf, b"BT /F1 8 Tf (self) Tj ET /Me Do", {"F1": font})
    selfish.Resources.XObject = pikepdf.Dictionary(Me=selfish)
    a = form(pdf, b"BT /F1 8 Tf (a) Tj ET /B Do", {"F1": font})
    b = form(pdf, b"BT /F1 8 Tf (b) Tj ET /A Do /Self Do", {"F1": font})
    a.Resources.XObject = pikepdf.Dictionary(B=b)
    b.Resources.XObject = pikepdf.Dictionary(A=a, Self=selfish)
    assert form_text(selfish) == "self"
    assert form_text(reopen(pdf, a)) == "a b self"


def test_a_fan_out_of_forms_is_bounded() -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    level = form(pdf, b"BT /F1 8 Tf (x) Tj ET", {"F1": font})
    for _ in range(8):  # 10 ** 8 leaves if every drawing were followed
        level = form(pdf, b"/L Do " * 10, xobjects={"L": level})
    reader = TextReader()
    text = reader.form_text(level)
    assert set(text.split()) == {"x"}
    assert any("forms" in problem for problem in reader.problems)


def test_depth_is_bounded() -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    level = form(pdf, b"BT /F1 8 Tf (deep) Tj ET", {"F1": font})
    for _ in range(20):
        level = form(pdf, b"/L Do", xobjects={"L": level})
    assert form_text(level) == ""
    assert form_text(level, max_depth=25) == "deep"


@pytest.mark.filterwarnings("ignore::UserWarning")  # qpdf's note on the damage it skipped
def test_broken_content_stream_gives_what_was_readable(reopen: Reopen) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    top = form(
        pdf, b"BT /F1 8 Tf (Hello) Tj ET ] >> <zz> Tj /F9 Tf [ (x) 1 Tj (unterminated", {"F1": font}
    )
    assert form_text(reopen(pdf, top)).startswith("Hello")


def test_undecodable_stream_and_broken_font_do_not_raise() -> None:
    pdf = pikepdf.new()
    bad = form(pdf, b"not zlib at all")
    bad.Filter = Name.FlateDecode
    reader = TextReader()
    assert reader.form_text(bad) == ""
    assert reader.problems
    broken_cmap = pdf.make_stream(b"garbage", Filter=Name.FlateDecode)
    font = type0_font(pdf, None)
    font.ToUnicode = broken_cmap
    top = form(pdf, b"BT /C0 8 Tf <0001> Tj /Nope 8 Tf (x) Tj ET", {"C0": font})
    assert reader.form_text(top) == ""
    assert form_text(pikepdf.Dictionary()) == ""


@pytest.mark.parametrize("operand", [b"5", b"/Name", b"[1 2]", b"<<>>", b"true"])
def test_wrong_operand_types_are_ignored(operand: bytes) -> None:
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    content = b"BT " + operand + b" Tf /F1 8 Tf " + operand + b" Tj " + operand + b" TJ (ok) Tj ET"
    top = form(pdf, content + b" " + operand + b" Do", {"F1": font})
    assert form_text(top) == "ok"


def test_a_repeated_form_is_read_once_and_its_filter_counts() -> None:
    """Signa repeats each mark on every page as a new form with the same content: the reader
    keeps the text of the first, but only for a form whose decoded content is the same."""
    pdf = pikepdf.new()
    font = standard_font(pdf, "Helvetica", Name.WinAnsiEncoding)
    content = b"BT /F1 8 Tf (Speedmaster) Tj ET"
    first = form(pdf, zlib.compress(content), {"F1": font})
    first.Filter = Name.FlateDecode
    same_raw_bytes_no_filter = form(pdf, zlib.compress(content), {"F1": font})
    same_text_uncompressed = form(pdf, content, {"F1": font})
    reader = TextReader()
    assert reader.form_text(first) == "Speedmaster"
    # Also binary junk in a content stream, which qpdf parses into operators that are not text.
    assert reader.form_text(same_raw_bytes_no_filter) != "Speedmaster"
    assert reader.form_text(same_text_uncompressed) == "Speedmaster"
    other_font = standard_font(pdf, "Symbol")
    assert reader.form_text(form(pdf, content, {"F1": other_font})) != "Speedmaster"


def test_names_that_are_not_utf8(reopen: Reopen) -> None:
    """A font resource and a BaseFont named in Windows-1251 bytes: found, read, and named."""
    pdf = pikepdf.new()
    top = form(pdf, b"BT /\xd8\xf0\xe8\xf4\xf2 8 Tf (Hello) Tj /\xcd\xe5\xf2 8 Tf (x) Tj ET")
    top.Resources = pikepdf.Dictionary(
        Font=pikepdf.Object.parse(
            b"<< /\xd8\xf0\xe8\xf4\xf2 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
            b" /Encoding /WinAnsiEncoding >> /\xcd\xe5\xf2 << /Type /Font /Subtype /Type0"
            b" /BaseFont /\xd8\xf0\xe8\xf4\xf2 /Encoding /Identity-H >> >>"
        )
    )
    reader = TextReader()
    assert reader.form_text(reopen(pdf, top)) == "Hello"
    assert reader.unreadable == {"/Шрифт"}
