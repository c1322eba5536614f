"""Liveness that knows zombies, and who holds or waits for a flock (the warm standby)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers import until

from controlplane.procs.pids import alive, cmdline, flock_of, ids_of, read_pid, runs


def test_a_zombie_is_not_alive(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    assert alive(proc.pid)
    (tmp_path / "x.pid").write_text(str(proc.pid))
    assert read_pid(tmp_path / "x.pid") == proc.pid
    os.kill(proc.pid, signal.SIGKILL)
    # not reaped yet: kill(pid, 0) still succeeds, but it is a zombie
    until(lambda: not alive(proc.pid), timeout=5, interval=0.02, what="the zombie")
    os.kill(proc.pid, 0)
    assert read_pid(tmp_path / "x.pid") is None
    proc.wait()
    assert not alive(proc.pid) and not alive(0)
    (tmp_path / "x.pid").write_text("garbage")
    assert read_pid(tmp_path / "x.pid") is None and read_pid(tmp_path / "none") is None
    assert ids_of(os.getpid()) == (os.getuid(), os.getgid())


def test_flock_holder_and_waiter(tmp_path: Path) -> None:
    lock = tmp_path / "controlplane.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    waiter = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "time.sleep(60)\n")])
    try:
        assert flock_of(os.getpid(), lock) == "held"
        until(lambda: flock_of(waiter.pid, lock) == "waiting", timeout=10,
              what="the second process to wait for the lock")
        os.close(fd)  # the holder goes: the waiter takes the lock
        until(lambda: flock_of(waiter.pid, lock) == "held", timeout=10, what="the takeover")
        assert flock_of(os.getpid(), lock) is None
        assert flock_of(waiter.pid, tmp_path / "other.lock") is None
    finally:
        waiter.kill()
        waiter.wait()


def test_runs_knows_a_pid_from_a_stale_pid_file() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        until(lambda: cmdline(proc.pid) == ["sleep", "60"], timeout=5, interval=0.02,
              what="sleep to exec")
        assert runs(proc.pid, "sleep") and not runs(proc.pid, "redis-server")
        assert runs(os.getpid(), sys.executable.rsplit("/", 1)[-1])
    finally:
        proc.kill()
        proc.wait()
    assert cmdline(proc.pid) == [] and not runs(proc.pid, "sleep")
