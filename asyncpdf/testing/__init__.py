"""Helpers for tests and trying asyncpdf out (sample plate PDFs); not used by the service."""
