"""Child processes that die with their parent.

The service may itself be killed (SIGKILL from systemd or the OOM killer) and then cannot stop
its pool workers or their Ghostscript; the kernel does it for them instead (Linux's
PR_SET_PDEATHSIG), so no orphan keeps running, holding memory, after a crash.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have the kernel SIGKILL this process when its parent exits. With `parent_pid`, exit at
    once if that parent is already gone (it died before this call)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
