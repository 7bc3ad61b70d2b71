"""What the journal writes to the service log."""

from __future__ import annotations

from asyncpdf.journal import printable


def test_control_characters_cannot_forge_service_log_lines() -> None:
    forged = "x.pdf\n2026-12-01 12:00:00 INFO asyncpdf.jobs: job 9: done\r\x1b[2J"
    shown = printable(forged)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert shown == "x.pdf\\n2026-12-01 12:00:00 INFO asyncpdf.jobs: job 9: done\\r\\x1b[2J"
    assert printable("Каталог весна.pdf") == "Каталог весна.pdf"
