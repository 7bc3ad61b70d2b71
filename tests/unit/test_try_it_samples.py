"""`make-samples` writes the files README's Try it shows: Leonov per press, Korol's naming."""

from __future__ import annotations

from pathlib import Path

from asyncpdf.testing.samples import main


def test_make_samples_includes_leonov_per_press_and_korol(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--count", "0"]) == 0
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [
        "31001_Buklet A4_Leonov.pdf",
        "31002_Katalog_Leonov.pdf",
        "31003_Etiketka_Korol.pdf",
    ]
