"""One exception hierarchy: each error knows its job outcome, HTTP status and exit code."""

from __future__ import annotations


class AsyncPdfError(Exception):
    """Base of every error asyncpdf raises on purpose."""

    outcome = "failed"
    http_status = 500
    exit_code = 1


class ConfigError(AsyncPdfError):
    """The configuration is invalid; the message names the field."""

    exit_code = 2


class RejectedFile(AsyncPdfError):
    """The file is not something asyncpdf can work on (not a PDF, unreadable, encrypted)."""

    outcome = "rejected"
    http_status = 422


class AnalysisFailed(AsyncPdfError):
    """The file is a PDF but lacks what delivery needs (e.g. no bureau found)."""

    http_status = 422


class WorkerCrashed(AsyncPdfError):
    """A pool worker died while working on the job."""


class OutOfMemory(AsyncPdfError):
    """The job's CPU work needed more memory than a pool worker may take."""


class JobTimeout(AsyncPdfError):
    """The job's CPU work ran past the configured timeout."""


class DeliveryError(AsyncPdfError):
    """A delivery target could not take the file."""


class NotFound(AsyncPdfError):
    """An API object does not exist."""

    http_status = 404
