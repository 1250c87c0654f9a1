"""Kernels' stderr, copied into the server's log less one misleading line.

ipykernel warns at every start that it runs "over TCP without encryption" and that all
communication "is susceptible to eavesdropping". Here the kernels listen on 127.0.0.1
only, and every message is signed with the kernel's own key, from a connection file only
this user can read: nobody but root on this machine can listen in. The server says that
once (TRANSPORT_LINE) instead of each kernel saying the other.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

TCP_WARNING = "Kernel is running over TCP without encryption."
TRANSPORT_LINE = (
    "kernels: ZMQ on 127.0.0.1 only, every message signed with the kernel's own key from a "
    "connection file only this user can read (ipykernel's per-kernel warning about TCP "
    "without encryption is left out of this log)"
)


def keep_line(line: str) -> bool:
    """Whether a kernel's stderr line goes into the server's log. Pure."""
    return TCP_WARNING not in line


class KernelStderr:
    """One pipe every kernel writes its stderr to (a restarted kernel too: it is started
    with the same arguments); a thread copies it to `target`, line by line, filtered."""

    def __init__(self, target: IO[str] | None = None) -> None:
        read_end, self.fd = os.pipe()
        os.set_inheritable(self.fd, True)
        self._target = target or sys.stderr
        self._thread = threading.Thread(
            target=self._copy, args=(read_end,), name="kernel-stderr", daemon=True
        )
        self._thread.start()

    def _copy(self, read_end: int) -> None:
        with os.fdopen(read_end, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if keep_line(line):
                    self._target.write(line)
                    self._target.flush()
