"""The job store: SQLite through aiosqlite (WAL), one module of queries per table."""

from asyncpdf.store.connection import Store

__all__ = ["Store"]
