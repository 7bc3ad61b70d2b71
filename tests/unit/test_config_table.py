"""The README's table of config fields is the settings model's, as it is now."""

from __future__ import annotations

from pathlib import Path

from asyncpdf.config import Settings
from asyncpdf.config_table import END, START, rows, with_table

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_table_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, (
        "the README's config table is out of date: run python -m asyncpdf.config_table README.md"
    )


def test_every_field_is_in_the_table_nested_ones_unfolded() -> None:
    keys = [key for key, _, _ in rows()]
    assert set(Settings.model_fields) <= {key.split(".")[0].split("[")[0] for key in keys}
    for key in ("watch.recursive", "disk.min_free_mb", "retention.done_days", "presses[].name"):
        assert key in keys
    assert len(keys) == len(set(keys))


def test_markers_are_in_the_readme_once() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(START) == text.count(END) == 1
