"""The supervisor's state file and how ``centrala status`` shows it.

The supervisor rewrites ``<runtime>/run/supervisor.json`` whenever a process starts or dies
(atomically: a reader never sees half a file). It holds, per program, its phase, pid, start
time, restart count and how it last ended; ``centrala status`` turns that into uptimes.
Formatting is pure (``now`` is passed in) so it is tested without processes.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controlplane.procs.policy import ProcState

STATE_FILE = "supervisor.json"


def state_path(runtime_dir: Path) -> Path:
    return runtime_dir / "run" / STATE_FILE


def describe_exit(returncode: int | None) -> str:
    """Words for how a process ended (``Popen.returncode``: negative is a signal)."""
    if returncode is None:
        return "gone (not our child: exit status unknown)"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``3d04h``: short and sortable by eye."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def snapshot(supervisor_pid: int, started_at: float, ready: bool,
             states: Iterable[ProcState], now: float, ended: str | None = None) -> dict[str, Any]:
    """What goes into the state file (``ended``: "stopped" or "left" once it is done)."""
    return {"pid": supervisor_pid, "started_at": started_at, "updated_at": now, "ready": ready,
            "ended": ended, "programs": {s.name: {k: v for k, v in asdict(s).items() if k != "name"}
                         for s in states}}


def format_processes(data: Mapping[str, Any] | None, now: float,
                     supervisor_alive: bool) -> list[str]:
    """Lines for ``centrala status``: the supervisor, then one line per program."""
    if data is None:
        return ["supervisor: not running (no state file): processes are not watched"]
    ago = duration(now - data["updated_at"])
    if supervisor_alive:
        head = f"supervisor: pid {data['pid']}, up {duration(now - data['started_at'])}"
    elif data.get("ended") == "stopped":
        head = f"supervisor: stopped everything {ago} ago"
    elif data.get("ended") == "left":
        head = (f"supervisor: left {ago} ago; its processes run unwatched until the next "
                "one adopts them")
    else:
        head = (f"supervisor: NOT RUNNING (pid {data['pid']} gone; last state {ago} old): "
                "processes are not watched")
    lines = [head]
    programs: Mapping[str, Mapping[str, Any]] = data.get("programs", {})
    width = max((len(n) for n in programs), default=0)
    for name, p in programs.items():
        phase = p.get("phase", "?")
        if phase == "running" and p.get("started_at") is not None:
            what = f"running  pid {p['pid']:<7} up {duration(now - p['started_at']):>7}"
        elif phase == "waiting" and p.get("restart_at") is not None:
            what = f"DOWN     restart in {duration(p['restart_at'] - now)}"
        else:
            what = phase.upper() if phase != "stopped" else "stopped"
        line = f"  {name:<{width}}  {what}  restarts {p.get('restarts', 0)}"
        if p.get("last_exit"):
            ago = (f" {duration(now - p['last_exit_at'])} ago"
                   if p.get("last_exit_at") is not None else "")
            line += f"  last exit: {p['last_exit']}{ago}"
        lines.append(line)
    return lines


def write_state(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the state file atomically (mode 0600, like everything under ``run/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def read_state(path: Path) -> dict[str, Any] | None:
    """The last state written, or None (no supervisor ever ran here, or unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
