"""The supervisor's loop: start every program in order, restart any that dies.

One thread, one loop, four times a second: each program's process is polled (ours are
reaped with their exit status), its death fed to its restart machine
(:mod:`controlplane.procs.policy`), and the machine's commands carried out. Whenever
something changed, the state file is rewritten (:mod:`controlplane.procs.status`).

At start every program is first looked for (``adopt``: left running by an earlier
supervisor or started by hand), else started; the next one starts when the previous is
ready (Redis answers, Asterisk is fully booted), or after ``ready_timeout_s`` anyway: a
program that is slow to come up is still watched and restarted like the others.

Stopping (``stop``) goes in reverse order, each program stopped cleanly; ``leave``
forgets them all and leaves them running, for a new supervisor to adopt.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from controlplane.procs import policy as p
from controlplane.procs.programs import Handle, Program
from controlplane.procs.status import describe_exit, snapshot, write_state

log = logging.getLogger("centrala.supervisor")
TICK_S = 0.25

# told of every death: the program's name and its state (how it ended, when it restarts)
DeathHook = Callable[[str, p.ProcState], None]


class Runner:
    def __init__(self, programs: Sequence[Program], state_file: Path, *,
                 restart: p.Policy = p.DEFAULT_POLICY, clock: Callable[[], float] = time.time,
                 on_death: DeathHook | None = None) -> None:
        self.programs = {prog.name: prog for prog in programs}
        self.order = [prog.name for prog in programs]
        self.states = {name: p.ProcState(name) for name in self.order}
        self.handles: dict[str, Handle] = {}
        self.state_file = state_file
        self.policy = restart
        self.clock = clock
        self.on_death = on_death
        self.started_at = clock()
        self.ready = False  # every program started once
        self.ended: str | None = None  # "stopped" (all stopped) or "left" (all left running)

    # ---- the machine's plumbing ----
    def _feed(self, name: str, event: p.Event) -> None:
        state, cmds = p.step(self.states[name], event, self.clock(), self.policy)
        self.states[name] = state
        for cmd in cmds:
            match cmd:
                case p.Spawn():
                    self._spawn(name)
                case p.Terminate():
                    self._terminate(name)
                case p.Refused():
                    log.warning("%s: %s refused in phase %s", name, type(cmd.event).__name__,
                                cmd.phase)

    def _spawn(self, name: str) -> None:
        prog = self.programs[name]
        try:
            handle = prog.adopt()
            if handle is not None:
                log.info("%s: adopted the running process %d", name, handle.pid)
            else:
                handle = prog.spawn()
                log.info("%s: started, pid %d", name, handle.pid)
        except Exception as err:  # noqa: BLE001 - any failure to start is retried with backoff
            log.warning("%s: failed to start: %s", name, err)
            self._feed(name, p.SpawnFailed(f"{type(err).__name__}: {err}"[:300]))
            self._died(name)
            return
        self.handles[name] = handle
        self._feed(name, p.Spawned(handle.pid))

    def _terminate(self, name: str) -> None:
        handle = self.handles.pop(name, None)
        if handle is None:
            return
        try:
            self.programs[name].stop(handle)
            log.info("%s: stopped", name)
        except Exception as err:  # noqa: BLE001 - stopping the others matters more
            log.warning("%s: stop failed: %s", name, err)

    def _died(self, name: str) -> None:
        state = self.states[name]
        log.warning("%s: %s; restart %d in %.1f s", name, state.last_exit, state.restarts + 1,
                    (state.restart_at or self.clock()) - self.clock())
        if self.on_death is not None:
            try:
                self.on_death(name, state)
            except Exception:  # noqa: BLE001 - an audit failure must not stop supervision
                log.exception("%s: death hook failed", name)

    # ---- the loop ----
    def start(self, ready_timeout_s: float = 30.0, stop: threading.Event | None = None) -> None:
        """Start (or adopt) every program in order, each after the previous is ready."""
        for name in self.order:
            if stop is not None and stop.is_set():
                return
            self._feed(name, p.Want())
            deadline = time.monotonic() + ready_timeout_s
            while self.states[name].phase == p.Phase.RUNNING and not self._ready(name):
                if time.monotonic() > deadline:
                    log.warning("%s: not ready after %.0f s; going on", name, ready_timeout_s)
                    break
                time.sleep(0.2)
            self.write()
        self.ready = True
        self.write()

    def _ready(self, name: str) -> bool:
        try:
            return self.programs[name].ready()
        except Exception:  # noqa: BLE001
            return False

    def tick(self) -> bool:
        """One round: reap, restart what is due. Returns True when something changed."""
        before = dict(self.states)
        for name in self.order:
            handle = self.handles.get(name)
            if handle is not None and self.states[name].phase == p.Phase.RUNNING:
                gone, code = handle.exited()
                if gone:
                    del self.handles[name]
                    self._feed(name, p.Exited(describe_exit(code)))
                    self._died(name)
            self._feed(name, p.Tick())
        return self.states != before

    def run(self, stop: threading.Event, leave: threading.Event | None = None) -> None:
        """Start everything, then watch until ``stop`` (stop all) or ``leave`` (leave all
        running) is set."""
        self.write()
        self.start(stop=stop)
        while not stop.is_set() and not (leave is not None and leave.is_set()):
            if self.tick():
                self.write()
            stop.wait(TICK_S)
        if leave is not None and leave.is_set() and not stop.is_set():
            self.leave()
        else:
            self.stop()

    def stop(self) -> None:
        """Stop every program cleanly, in reverse order."""
        for name in reversed(self.order):
            self._feed(name, p.Stop())
        self.ended = "stopped"
        self.write()

    def leave(self) -> None:
        """Forget every program and leave it running (a new supervisor adopts them)."""
        for name in self.order:
            self._feed(name, p.Forget())
        self.handles.clear()
        self.ended = "left"
        self.write()
        log.info("leaving every process running")

    def write(self) -> None:
        write_state(self.state_file, snapshot(os.getpid(), self.started_at, self.ready,
                                              [self.states[n] for n in self.order], self.clock(),
                                              self.ended))
