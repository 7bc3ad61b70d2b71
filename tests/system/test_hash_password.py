"""`asyncpdf hash-password` stopped at its prompt: Ctrl-C exits 130 and end of input (Ctrl-D)
exits 1, each with one line and no traceback, and nothing that looks like a hash is printed.
The command runs as a process whose terminal is a pty this test holds."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from asyncpdf.cli import EXIT_INTERRUPTED
from asyncpdf.errors import EXIT_FAILED

TIMEOUT_S = 60  # a bound on waiting for the command, on a busy machine too
#: Python's `-c` that starts the rest of its arguments with Ctrl-C as a shell leaves it.
AS_A_SHELL_STARTS_IT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    """What the pty shows until `wanted` appears, or all of it when the process closed it."""
    seen = b""
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"waited for {wanted!r}, got {seen!r}"
        if select.select([fd], [], [], remaining)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the process and its terminal are gone
                return seen
            if not chunk:
                return seen
            seen += chunk
    return seen


@contextmanager
def _at_the_prompt() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The command waiting at `password: ` on a pty; the pty's master side to act on it."""
    master, terminal = pty.openpty()
    # A session of its own without a controlling terminal: getpass uses the pty on stdin
    # (rather than /dev/tty, whatever this test runs in) and the test sends the signals.
    # Ctrl-C as a shell leaves it to the command it starts (not ignored, not blocked), however
    # this test process has it: a disposition set to ignore is inherited through exec.
    process = subprocess.Popen(
        [sys.executable, "-c", AS_A_SHELL_STARTS_IT, "-m", "asyncpdf", "hash-password"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    try:
        _read_until(master, b"password: ", time.monotonic() + TIMEOUT_S)
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT_S)
        os.close(master)


def _rest(process: subprocess.Popen[bytes], master: int) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    try:
        process.wait(TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the command did not end; it is: {_how_it_is(process.pid)}")
    return _read_until(master, b"\0never\0", deadline).decode()


def _how_it_is(pid: int) -> str:
    """What the kernel says of a process that does not end: its state, the signals it ignores
    and blocks, and where it sleeps."""
    status = Path(f"/proc/{pid}/status").read_text()
    wanted = ("State:", "SigIgn:", "SigBlk:", "SigPnd:", "ShdPnd:")
    found = [line for line in status.splitlines() if line.startswith(wanted)]
    return "; ".join([*found, "wchan: " + Path(f"/proc/{pid}/wchan").read_text()])


@pytest.mark.timeout(240)
def test_ctrl_c_at_the_prompt_exits_130_with_one_line() -> None:
    with _at_the_prompt() as (process, master):
        process.send_signal(signal.SIGINT)
        shown = _rest(process, master)
        assert process.returncode == EXIT_INTERRUPTED == 130
    assert [line for line in shown.splitlines() if line.strip()] == [
        "asyncpdf: interrupted; nothing printed"
    ]
    assert "Traceback" not in shown and "pbkdf2" not in shown


@pytest.mark.timeout(240)
@pytest.mark.parametrize("typed_first", [False, True])
def test_end_of_input_at_a_prompt_exits_1_with_one_line(typed_first: bool) -> None:
    with _at_the_prompt() as (process, master):
        if typed_first:  # Ctrl-D at the second prompt
            os.write(master, b"secret\n")
            _read_until(master, b"again: ", time.monotonic() + TIMEOUT_S)
        os.write(master, b"\x04")  # Ctrl-D on an empty line: the end of input
        shown = _rest(process, master)
        assert process.returncode == EXIT_FAILED == 1
    assert [line for line in shown.splitlines() if line.strip()] == [
        "asyncpdf: no password: the input ended; nothing printed"
    ]
    assert "Traceback" not in shown and "secret" not in shown


def test_empty_stdin_that_is_no_terminal_exits_1() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asyncpdf", "hash-password"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "asyncpdf: no password: the input ended; nothing printed\n"
