"""The restart policy of one supervised program: a pure machine, no I/O.

Theory of operation
-------------------
    stopped → starting → running → waiting → starting → running …

The supervisor asks for a program once (``Want``); the machine answers ``Spawn`` and the
runner starts it, feeding back ``Spawned(pid)`` or ``SpawnFailed``. When the process dies
(``Exited``) the machine waits before spawning it again, with exponential backoff:
``first_delay_s × factor^n`` capped at ``max_delay_s``, where *n* counts the deaths in a
row that came before the program had stayed up ``stable_after_s``: a process that ran a
while and was killed comes back at once (``first_delay_s``), one that crashes on start does
not spin. ``Tick`` fires the restart when its time comes. ``Stop`` ends it all (the runner
terminates a running process); ``Forget`` (the supervisor leaves, processes stay up)
drops the process without touching it.

    event        accepted in                       leads to
    Want         stopped                           starting   Spawn
    Spawned      starting                          running
    SpawnFailed  starting                          waiting    (counts as a quick death)
    Exited       running                           waiting
    Tick         any (acts in waiting when due)    starting   Spawn
    Stop         any                               stopped    Terminate (if running)
    Forget       any                               stopped

Anything else is refused (the state is returned unchanged with a ``Refused`` command).
Times are wall-clock seconds (``time.time()``): they are shown as uptimes by another
process, and a clock jump only shifts one backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Phase(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    WAITING = "waiting"  # dead; restart at ``restart_at``


@dataclass(frozen=True)
class Policy:
    first_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0
    stable_after_s: float = 30.0

    def delay(self, quick_deaths: int) -> float:
        """Wait before the next start after ``quick_deaths`` deaths in a row (1 = this one)."""
        return min(self.first_delay_s * self.factor ** max(quick_deaths - 1, 0), self.max_delay_s)


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class ProcState:
    name: str
    phase: Phase = Phase.STOPPED
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0  # spawns after the first
    quick_deaths: int = 0  # deaths in a row before ``stable_after_s`` of uptime
    last_exit: str | None = None  # "killed by SIGKILL", "exit 1", "failed to start: …"
    last_exit_at: float | None = None
    restart_at: float | None = None
    spawned_once: bool = False


# ---- events ----
@dataclass(frozen=True)
class Want:
    pass


@dataclass(frozen=True)
class Spawned:
    pid: int


@dataclass(frozen=True)
class SpawnFailed:
    reason: str


@dataclass(frozen=True)
class Exited:
    how: str  # as :func:`controlplane.procs.status.describe_exit` words it


@dataclass(frozen=True)
class Tick:
    pass


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Forget:
    pass


Event = Want | Spawned | SpawnFailed | Exited | Tick | Stop | Forget


# ---- commands ----
@dataclass(frozen=True)
class Spawn:
    name: str


@dataclass(frozen=True)
class Terminate:
    name: str
    pid: int


@dataclass(frozen=True)
class Refused:
    name: str
    event: Event
    phase: Phase


Command = Spawn | Terminate | Refused

_ANY = frozenset(Phase)
TRANSITIONS: dict[type, frozenset[Phase]] = {
    Want: frozenset({Phase.STOPPED}),
    Spawned: frozenset({Phase.STARTING}),
    SpawnFailed: frozenset({Phase.STARTING}),
    Exited: frozenset({Phase.RUNNING}),
    Tick: _ANY,
    Stop: _ANY,
    Forget: _ANY,
}


def step(state: ProcState, event: Event, now: float,
         policy: Policy = DEFAULT_POLICY) -> tuple[ProcState, tuple[Command, ...]]:
    """Apply ``event`` at ``now``; return the new state and what the runner must do."""
    if state.phase not in TRANSITIONS[type(event)]:
        return state, (Refused(state.name, event, state.phase),)
    match event:
        case Want():
            return replace(state, phase=Phase.STARTING), (Spawn(state.name),)
        case Spawned(pid=pid):
            restarts = state.restarts + (1 if state.spawned_once else 0)
            return replace(state, phase=Phase.RUNNING, pid=pid, started_at=now,
                           restarts=restarts, spawned_once=True, restart_at=None), ()
        case SpawnFailed(reason=reason):
            return _died(state, f"failed to start: {reason}", now, policy, stable=False), ()
        case Exited(how=how):
            up = now - (state.started_at if state.started_at is not None else now)
            return _died(state, how, now, policy, stable=up >= policy.stable_after_s), ()
        case Tick():
            if state.phase == Phase.WAITING and state.restart_at is not None \
                    and now >= state.restart_at:
                return replace(state, phase=Phase.STARTING, restart_at=None), (Spawn(state.name),)
            return state, ()
        case Stop():
            cmds: tuple[Command, ...] = ()
            if state.phase == Phase.RUNNING and state.pid is not None:
                cmds = (Terminate(state.name, state.pid),)
            return replace(state, phase=Phase.STOPPED, pid=None, restart_at=None), cmds
        case Forget():
            return replace(state, phase=Phase.STOPPED, restart_at=None), ()
    raise AssertionError(f"unhandled event {event!r}")  # pragma: no cover - table above


def _died(state: ProcState, how: str, now: float, policy: Policy, *, stable: bool) -> ProcState:
    quick = 1 if stable else state.quick_deaths + 1
    return replace(state, phase=Phase.WAITING, pid=None, last_exit=how, last_exit_at=now,
                   quick_deaths=quick, restart_at=now + policy.delay(quick))
