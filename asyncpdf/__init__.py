"""asyncpdf: a prepress hotfolder service in one asyncio process."""

__version__ = "0.1.0"
