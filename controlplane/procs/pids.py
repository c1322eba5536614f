"""Is a process alive? ``kill(pid, 0)`` alone says yes for a zombie.

A zombie is a dead process whose parent has not collected its exit status yet. Ours are
collected (``Popen.poll``), but a process we did not start (an Asterisk that forked into
the background, a daemon started by an earlier supervisor) is re-parented to PID 1, and
not every PID 1 collects them (some container init processes never do): such a process
stays a zombie forever, answering ``kill(pid, 0)`` while it serves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill()
    # "pid (comm) state …": comm may hold spaces and parentheses, the state follows the last ")"
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def read_pid(path: Path) -> int | None:
    """The pid in ``path`` if that process is alive, else None."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def ids_of(pid: int) -> tuple[int, int] | None:
    """The real uid and gid of a live process (None if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    uid = gid = None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("Gid:"):
            gid = int(line.split()[1])
    return (uid, gid) if uid is not None and gid is not None else None


def flock_of(pid: int, path: Path) -> str | None:
    """``"held"`` or ``"waiting"`` when process ``pid`` holds, or waits for, a ``flock`` on
    ``path`` (from ``/proc/locks``, where a waiter's line has ``->``); None otherwise."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        waiting = len(fields) > 1 and fields[1] == "->"
        fields = fields[2:] if waiting else fields[1:]
        # FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> <start> <end>
        if len(fields) >= 5 and fields[0] == "FLOCK" and fields[3] == str(pid) \
                and fields[4].rsplit(":", 1)[-1] == str(inode):
            return "waiting" if waiting else "held"
    return None


def cmdline(pid: int) -> list[str]:
    """The process's command line ([] if it is gone or has none)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def runs(pid: int, token: str) -> bool:
    """``pid`` is alive and ``token`` is one of its command-line words (or their base name):
    a pid file that outlived a reboot may name an unrelated process that got the same pid."""
    # split on spaces too: some programs rewrite their title (redis-server "path host:port")
    words = [w for part in cmdline(pid) for w in part.split()]
    return alive(pid) and any(w == token or w.rsplit("/", 1)[-1] == token for w in words)
