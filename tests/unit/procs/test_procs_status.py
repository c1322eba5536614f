"""How ``centrala status`` shows the supervisor's state file (pure formatting) and the
file's round trip."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from controlplane.procs.policy import Phase, ProcState
from controlplane.procs.status import (
    describe_exit,
    duration,
    format_processes,
    read_state,
    snapshot,
    write_state,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (42.9, "42s"), (60, "1m00s"), (185, "3m05s"), (3600, "1h00m"),
    (7620, "2h07m"), (86400 * 3 + 3600 * 4, "3d04h"), (-5, "0s"),
])
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_exits_in_words() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert describe_exit(1) == "exit 1"
    assert describe_exit(None).startswith("gone")


def _data() -> dict:  # type: ignore[type-arg]
    states = [
        ProcState("redis", Phase.RUNNING, pid=101, started_at=NOW - 185, restarts=0),
        ProcState("asterisk-platform", Phase.RUNNING, pid=202, started_at=NOW - 4,
                  restarts=2, last_exit="killed by SIGKILL", last_exit_at=NOW - 5),
        ProcState("controlplane", Phase.WAITING, restarts=5, last_exit="exit 1",
                  last_exit_at=NOW - 1, restart_at=NOW + 8),
        ProcState("web", Phase.STOPPED),
    ]
    return snapshot(99, NOW - 3700, True, states, NOW)


def test_each_process_shows_uptime_restarts_and_last_exit() -> None:
    lines = format_processes(_data(), NOW, supervisor_alive=True)
    assert lines[0] == "supervisor: pid 99, up 1h01m"
    assert lines[1].split() == ["redis", "running", "pid", "101", "up", "3m05s", "restarts", "0"]
    assert lines[2].split() == ["asterisk-platform", "running", "pid", "202", "up", "4s",
                                "restarts", "2", "last", "exit:", "killed", "by", "SIGKILL",
                                "5s", "ago"]
    assert "DOWN     restart in 8s  restarts 5  last exit: exit 1 1s ago" in lines[3]
    assert lines[4].split() == ["web", "stopped", "restarts", "0"]
    # the names are aligned: every state starts in the same column
    assert len({line.index(word) for line, word in zip(lines[1:], ["running", "running",
                                                                      "DOWN", "stopped"],
                                                        strict=True)}) == 1


def test_a_dead_supervisor_is_said_loudly() -> None:
    lines = format_processes(_data(), NOW + 60, supervisor_alive=False)
    assert lines[0].startswith("supervisor: NOT RUNNING (pid 99 gone; last state 1m00s old)")
    stopped = {**_data(), "ended": "stopped"}
    assert format_processes(stopped, NOW + 60, False)[0] == \
        "supervisor: stopped everything 1m00s ago"
    left = {**_data(), "ended": "left"}
    assert format_processes(left, NOW + 2, False)[0].startswith("supervisor: left 2s ago")
    assert format_processes(None, NOW, False) == [
        "supervisor: not running (no state file): processes are not watched"]


def test_state_file_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "run" / "supervisor.json"
    write_state(path, _data())
    assert read_state(path) == _data()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["supervisor.json"]  # no temp file left
    path.write_text("{not json")
    assert read_state(path) is None
    assert read_state(tmp_path / "missing.json") is None
