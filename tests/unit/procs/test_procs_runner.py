"""The supervisor's loop with real (tiny) processes: restart after kill -9, a program that
cannot start backs off, stop and leave."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from helpers import until

from controlplane.procs import policy as p
from controlplane.procs.pids import alive
from controlplane.procs.programs import Handle
from controlplane.procs.runner import Runner
from controlplane.procs.status import read_state

FAST = p.Policy(first_delay_s=0.05, factor=2.0, max_delay_s=0.4, stable_after_s=5.0)


class Sleeper:
    """A program that is ``sleep 60`` (or fails to start while ``broken``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.broken = False
        self.spawned: list[int] = []
        self.stopped: list[int] = []
        self.adoptable: int | None = None

    def adopt(self) -> Handle | None:
        pid, self.adoptable = self.adoptable, None
        return Handle(pid) if pid is not None else None

    def spawn(self) -> Handle:
        if self.broken:
            raise OSError("no such program")
        proc = subprocess.Popen(["sleep", "60"])
        self.spawned.append(proc.pid)
        return Handle(proc.pid, proc)

    def ready(self) -> bool:
        return True

    def stop(self, handle: Handle) -> None:
        self.stopped.append(handle.pid)
        os.kill(handle.pid, signal.SIGTERM)
        if handle.popen is not None:
            handle.popen.wait(5)


def test_a_killed_process_comes_back_and_the_state_file_says_so(tmp_path: Path) -> None:
    a, b = Sleeper("a"), Sleeper("b")
    deaths: list[tuple[str, str | None]] = []
    runner = Runner([a, b], tmp_path / "state.json", restart=FAST,
                    on_death=lambda name, st: deaths.append((name, st.last_exit)))
    runner.start()
    first = a.spawned[0]
    os.kill(first, signal.SIGKILL)
    until(lambda: (runner.tick(), len(a.spawned) == 2)[1], timeout=5, interval=0.02,
          what="a restarted")
    assert alive(a.spawned[1]) and runner.states["a"].restarts == 1
    assert deaths == [("a", "killed by SIGKILL")]
    runner.write()
    data = read_state(tmp_path / "state.json")
    assert data is not None and data["ready"] and data["pid"] == os.getpid()
    assert data["programs"]["a"]["pid"] == a.spawned[1]
    assert data["programs"]["a"]["last_exit"] == "killed by SIGKILL"
    assert data["programs"]["b"]["restarts"] == 0
    runner.stop()
    assert b.stopped == [b.spawned[0]] and a.stopped == [a.spawned[1]]
    assert read_state(tmp_path / "state.json")["ended"] == "stopped"  # type: ignore[index]


def test_a_program_that_cannot_start_backs_off_then_recovers(tmp_path: Path) -> None:
    a = Sleeper("a")
    a.broken = True
    runner = Runner([a], tmp_path / "state.json", restart=FAST)
    runner.start()
    state = runner.states["a"]
    assert state.phase == p.Phase.WAITING and state.last_exit == "failed to start: OSError: no such program"
    until(lambda: (runner.tick(), runner.states["a"].quick_deaths >= 3)[1], timeout=5,
          interval=0.01, what="three failed starts")
    state = runner.states["a"]
    assert state.restart_at - state.last_exit_at == pytest.approx(  # type: ignore[operator]
        FAST.delay(state.quick_deaths))
    assert FAST.delay(state.quick_deaths) > FAST.delay(1)
    a.broken = False
    until(lambda: (runner.tick(), runner.states["a"].phase == p.Phase.RUNNING)[1], timeout=5,
          interval=0.01, what="a running")
    runner.stop()


def test_run_adopts_a_live_process_and_leave_keeps_it_running(tmp_path: Path) -> None:
    a = Sleeper("a")
    orphan = subprocess.Popen(["sleep", "60"])
    a.adoptable = orphan.pid
    runner = Runner([a], tmp_path / "state.json", restart=FAST)
    stop, leave = threading.Event(), threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop, leave))
    thread.start()
    until(lambda: runner.ready, timeout=5, what="runner started")
    assert a.spawned == [] and runner.states["a"].pid == orphan.pid  # adopted, not started
    leave.set()
    thread.join(5)
    assert not thread.is_alive() and a.stopped == [] and orphan.poll() is None
    assert read_state(tmp_path / "state.json")["ended"] == "left"  # type: ignore[index]
    orphan.kill()
    orphan.wait()
    # an adopted process that dies (not our child: no exit status) is restarted as well
    assert Handle(orphan.pid).exited() == (True, None)
