"""One exception hierarchy. Each error carries the reason a person reads, the job outcome it
leads to, its HTTP status and `code` where it reaches the API, and the CLI's exit code.

Exit codes of `asyncpdf`: 0 ok; 1 a file was rejected or failed; 2 usage or configuration
error; 3 cannot start (another instance holds the data folder, or the port is taken).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANNOT_START = 3


class AsyncPdfError(Exception):
    """Base of every error asyncpdf raises on purpose."""

    outcome = "failed"
    code = "internal"
    http_status = 500
    exit_code = EXIT_FAILED


class ConfigError(AsyncPdfError):
    """The configuration is invalid; the message names the field."""

    code = "config"
    exit_code = EXIT_USAGE


class CannotStart(AsyncPdfError):
    """The service cannot start here: the data folder is in use, or the port is taken."""

    code = "cannot_start"
    exit_code = EXIT_CANNOT_START


class ChangedSinceSettled(AsyncPdfError):
    """What the claim moved is not the file that settled (it was replaced or written to in
    between); it is put back and taken once it settles again."""

    code = "changed"


class RejectedFile(AsyncPdfError):
    """The file is not something asyncpdf can work on (not a PDF, unreadable, encrypted)."""

    outcome = "rejected"
    code = "rejected"
    http_status = 422


class AnalysisFailed(AsyncPdfError):
    """The file is a PDF but lacks what delivery needs (e.g. no bureau found)."""

    code = "analysis_failed"
    http_status = 422


class WorkerCrashed(AsyncPdfError):
    """A pool worker died while working on the job."""

    code = "worker_crashed"


class OutOfMemory(AsyncPdfError):
    """The job's CPU work needed more memory than a pool worker may take."""

    code = "out_of_memory"


class JobTimeout(AsyncPdfError):
    """The job's CPU work ran past the configured timeout."""

    code = "timeout"


class GhostscriptError(AsyncPdfError):
    """Ghostscript failed, timed out, or produced nothing usable."""

    code = "ghostscript"

    def __init__(self, message: str, returncode: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output = output

    def __reduce__(self) -> tuple[type[GhostscriptError], tuple[str, int | None, str]]:
        # Crosses the process-pool boundary: pickle with all three arguments.
        return (type(self), (str(self), self.returncode, self.output))


class CropError(AsyncPdfError):
    """The crop cannot be made: sizes that make no sense, wrong number of boxes, a box off the
    page, an unreadable PDF."""

    code = "crop"


class PaperOffPlate(CropError):
    """The paper sheet does not fit the plate where the gripper puts it.

    ``box`` is the sheet clipped to the plate (``None`` when nothing of it is left); the
    message is meant for the operator's job log.
    """

    def __init__(self, message: str, box: tuple[float, float, float, float] | None) -> None:
        super().__init__(message)
        self.box = box

    def __reduce__(self) -> tuple[type[PaperOffPlate], tuple[str, object]]:
        return (type(self), (str(self), self.box))


class RenderError(AsyncPdfError):
    """A page cannot be rendered as asked (no such page, absurd size)."""

    code = "render"


class DeliveryError(AsyncPdfError):
    """A delivery target could not take the file. `permanent`: trying again cannot help until
    someone changes something (the name, the target), so it fails at once."""

    code = "delivery"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Duplicate(AsyncPdfError):
    """The same file (by checksum) was delivered by an earlier job: not sent again."""

    code = "duplicate"
    outcome = "duplicate"


class NotifyError(AsyncPdfError):
    """A notification channel did not take a message. `permanent`: trying again cannot help
    until someone changes the config (a wrong token, chat or number); `retry_after_s`: how long
    the channel asked to be left alone. The message never holds a token or password."""

    code = "notify"

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class IllegalTransition(AsyncPdfError):
    """A job or delivery was asked to change state in a way the lifecycle does not allow, or
    its state had changed under the caller (a stale transition)."""

    code = "conflict"
    http_status = 409


class AlreadyRunning(CannotStart):
    """Another asyncpdf holds the lock on this data folder."""


class BadRequest(AsyncPdfError):
    """An API call's parameters are wrong; the message says which and how."""

    code = "bad_request"
    http_status = 400


class ClientGone(BadRequest):
    """The client closed the connection before its request was in (nobody reads the answer)."""

    code = "client_gone"


class NotFound(AsyncPdfError):
    """An API object does not exist."""

    code = "not_found"
    http_status = 404


class Unauthorized(AsyncPdfError):
    """The request needs credentials (Basic or Bearer) and has none that are right."""

    code = "unauthorized"
    http_status = 401


class Forbidden(AsyncPdfError):
    """The request is refused whatever its credentials: it comes from another site's page, or
    no credentials are configured for changes yet."""

    code = "forbidden"
    http_status = 403


class Conflict(AsyncPdfError):
    """An action does not fit the job as it is (a retry with nothing failed, deleting a job
    still in work); the message says what it needs."""

    code = "conflict"
    http_status = 409


class TooLarge(AsyncPdfError):
    """An upload is larger than the service takes (`max_file_mb`)."""

    code = "too_large"
    http_status = 413


class NoSpace(AsyncPdfError):
    """The disk the service writes to is nearly full (`disk.min_free_mb`)."""

    code = "insufficient_storage"
    http_status = 507
