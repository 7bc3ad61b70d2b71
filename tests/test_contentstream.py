"""The content-stream tokenizer: checked against qpdf's own parser, then on what qpdf refuses."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest

from asyncpdf.contentstream import Operand, instructions
from asyncpdf.samples import PRESSES, SamplePage, signa_marks, write_sample

OPERATORS_USED = (
    "BT ET Tf Tj TJ ' \" Td TD T* Tm Tc Tw Tz TL Ts Tr Do q Q gs cm re f S k K g G rg RG w BDC EMC"
    " d0 d1 sh"
)
# The tokenizer gives only the operators it is asked for; these tests ask for all they use.
ALL = frozenset(OPERATORS_USED.split())


def as_python(value: object) -> Operand:
    """A pikepdf operand in the tokenizer's terms."""
    if isinstance(value, pikepdf.String):
        return bytes(value)
    if isinstance(value, pikepdf.Name):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, pikepdf.Dictionary):
        return None
    if isinstance(value, int | Decimal | float):
        return float(value)
    if isinstance(value, pikepdf.Array):
        return [as_python(item) for item in value]
    raise AssertionError(f"unexpected operand {value!r}")


def by_qpdf(data: bytes) -> list[tuple[list[Operand], str]]:
    pdf = pikepdf.new()
    parsed = pikepdf.parse_content_stream(pikepdf.Stream(pdf, data))
    return [
        ([as_python(operand) for operand in instruction.operands], str(instruction.operator))
        for instruction in parsed
        if isinstance(instruction, pikepdf.ContentStreamInstruction)
    ]


def ours(data: bytes, operators: frozenset[str] = ALL) -> list[tuple[list[Operand], str]]:
    return list(instructions(data, operators))


VALID = [
    b"BT /F0 10 Tf 0 0 Td (Machine: Speedmaster) Tj ET",
    b"BT /F1 9.5 Tf 1 0 0 1 -.5 +3. Tm <00140020 001D0017> Tj T* (a) ' 1 2 (b) \" ET",
    b"[(Pa) -120 (per) -250.5 <41 4> ] TJ",
    b"(nested (paren (deep)) \\) and \\( escapes) Tj",
    b"(octal \\101\\102\\7 \\0534 and \\n\\r\\t\\b\\f\\\\ \\q) Tj",
    b"(line \\\ncontinued) Tj",
    b"/F#30#41 12 Tf /Name#20With#20Spaces Do",
    b"% a comment (not a string) Tj\n/P << /MCID 0 /Nested << /A [1 2] >> >> BDC EMC",
    b"true false null 3 d0",
    b"q 1 0 0 1 10 10 cm /Im0 Do Q 0 0 1 rg 0 0 10 10 re f",
    b"[[1 2] [3 [4 5]]] 0 d0",
    b"()Tj<>Tj[]TJ",
]


@pytest.mark.parametrize("data", VALID)
def test_agrees_with_qpdf_on_valid_streams(data: bytes) -> None:
    assert ours(data) == by_qpdf(data)


def test_agrees_with_qpdf_on_every_sample_mark(tmp_path: Path) -> None:
    pages = [
        SamplePage(PRESSES["Speedmaster"], marks=signa_marks("Leonov", "Speedmaster", (640, 450))),
        SamplePage(
            PRESSES["Speedmaster"],
            marks=signa_marks("Korol", "Speedmaster", (640, 450), layout="old", font="embedded"),
        ),
    ]
    path = tmp_path / "marks.pdf"
    write_sample(path, pages)
    seen = 0
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for key, xobject in page.obj.Resources.XObject.items():
                if key.startswith("/pssMO"):
                    data = xobject.read_bytes()
                    assert ours(data) == by_qpdf(data), key
                    seen += 1
    assert seen >= 4


def test_only_the_asked_operators_come_out_with_their_own_operands() -> None:
    data = b"1 0 0 1 5 5 cm BT /F0 10 Tf (x) Tj 3 w ET"
    assert ours(data, frozenset({"Tf", "Tj"})) == [(["/F0", 10.0], "Tf"), ([b"x"], "Tj")]


def test_inline_image_data_is_skipped() -> None:
    data = b"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00(Tj\xffET) Tj EI\nBT (after) Tj ET"
    assert ours(data, frozenset({"Tj"})) == [([b"after"], "Tj")]


def test_an_unterminated_string_runs_to_the_end() -> None:
    assert ours(b"(a) Tj (never closed Tj") == [([b"a"], "Tj")]
    assert ours(b"(a (b) Tj", frozenset({"Tj"})) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"] ] >> (a) Tj", [([b"a"], "Tj")]),  # closers with nothing open
        (b"[(a) [(b) Tj (c) Tj", [([], "Tj"), ([b"c"], "Tj")]),  # an operator ends open arrays
        (b"<4G> (b) Tj", [([b"b"], "Tj")]),  # a broken hex string
        (b"1.2.3 (x) Tj", [([b"x"], "Tj")]),  # not a number: an unknown operator
        (b"{ } (x) Tj", [([b"x"], "Tj")]),
        (b"<414> Tj", [([b"A@"], "Tj")]),  # odd digit count: a trailing 0 is implied
        (b"/F#zz 1 Tf", [(["/F#zz", 1.0], "Tf")]),
        (b"/\xff\xfe 1 Tf", [(["/\ufffd\ufffd", 1.0], "Tf")]),
    ],
)
def test_malformed_input_gives_what_can_be_read(data: bytes, expected: list[object]) -> None:
    assert ours(data) == expected


def test_deep_nesting_needs_no_recursion() -> None:
    data = b"[" * 200_000 + b"(x)" + b"]" * 200_000 + b" TJ"
    ((operands, op),) = ours(data)
    assert op == "TJ"
    depth, value = 0, operands[0]
    while isinstance(value, list):
        depth, value = depth + 1, value[0] if value else None
    assert (depth, value) == (200_000, b"x")


def test_random_damage_never_raises() -> None:
    rng = random.Random(7)
    corpus = b" ".join(VALID)
    for _ in range(2000):
        data = bytearray(corpus)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.randint(0, len(data))
        for operands, op in instructions(bytes(data[:cut]), ALL):
            assert isinstance(operands, list) and isinstance(op, str)
