"""The restart policy: backoff, its reset after a stable run, refused events (pure)."""

from __future__ import annotations

import pytest

from controlplane.procs import policy as p

POLICY = p.Policy(first_delay_s=0.5, factor=2.0, max_delay_s=30.0, stable_after_s=30.0)


def run(events: list[tuple[float, p.Event]], state: p.ProcState | None = None):  # type: ignore[no-untyped-def]
    state = state or p.ProcState("web")
    out = []
    for at, event in events:
        state, cmds = p.step(state, event, at, POLICY)
        out.append(cmds)
    return state, out


def test_first_start_spawns_and_counts_no_restart() -> None:
    state, cmds = run([(0, p.Want()), (0.1, p.Spawned(42))])
    assert cmds == [(p.Spawn("web"),), ()]
    assert (state.phase, state.pid, state.started_at, state.restarts) == (
        p.Phase.RUNNING, 42, 0.1, 0)


@pytest.mark.parametrize(("deaths", "delays"), [
    (1, [0.5]),
    (4, [0.5, 1.0, 2.0, 4.0]),
    (9, [0.5, 1, 2, 4, 8, 16, 30, 30, 30]),  # capped
])
def test_quick_deaths_back_off_exponentially(deaths: int, delays: list[float]) -> None:
    state, _ = run([(0, p.Want()), (0, p.Spawned(1))])
    now, seen = 0.0, []
    for i in range(deaths):
        now += 1  # dies one second after each start
        state, _ = p.step(state, p.Exited("exit 1"), now, POLICY)
        seen.append(state.restart_at - now)
        assert state.phase == p.Phase.WAITING and state.last_exit == "exit 1"
        # not before its time …
        early, cmds = p.step(state, p.Tick(), state.restart_at - 0.01, POLICY)
        assert cmds == () and early.phase == p.Phase.WAITING
        # … then it is spawned again
        now = state.restart_at
        state, cmds = p.step(state, p.Tick(), now, POLICY)
        assert cmds == (p.Spawn("web"),)
        state, _ = p.step(state, p.Spawned(100 + i), now, POLICY)
        assert state.restarts == i + 1
    assert seen == delays


def test_backoff_resets_after_a_stable_run() -> None:
    state, _ = run([(0, p.Want()), (0, p.Spawned(1)), (1, p.Exited("exit 1")),
                    (1.5, p.Tick()), (1.5, p.Spawned(2)), (2, p.Exited("exit 1"))])
    assert state.restart_at == pytest.approx(2 + 1.0)  # second quick death: 1 s
    state, _ = run([(3, p.Tick()), (3, p.Spawned(3)),
                    (3 + POLICY.stable_after_s, p.Exited("killed by SIGKILL"))], state)
    # it ran 30 s: a kill -9 now is back after the first delay, not the doubled one
    assert state.restart_at == pytest.approx(33 + 0.5)
    assert state.quick_deaths == 1 and state.last_exit == "killed by SIGKILL"


def test_a_failed_start_counts_as_a_quick_death() -> None:
    state, _ = run([(0, p.Want()), (0, p.SpawnFailed("OSError: no such file")),
                    (0.5, p.Tick()), (0.5, p.SpawnFailed("OSError: no such file"))])
    assert state.phase == p.Phase.WAITING and state.quick_deaths == 2
    assert state.restart_at == pytest.approx(0.5 + 1.0)
    assert state.last_exit == "failed to start: OSError: no such file"
    assert state.restarts == 0  # never ran


def test_stop_terminates_a_running_process_and_cancels_a_pending_restart() -> None:
    running, _ = run([(0, p.Want()), (0, p.Spawned(7))])
    stopped, cmds = p.step(running, p.Stop(), 1, POLICY)
    assert cmds == (p.Terminate("web", 7),) and stopped.phase == p.Phase.STOPPED
    waiting, _ = run([(2, p.Exited("exit 1"))], running)
    stopped, cmds = p.step(waiting, p.Stop(), 2.1, POLICY)
    assert cmds == () and stopped.restart_at is None
    assert p.step(stopped, p.Tick(), 100, POLICY)[1] == ()  # never comes back by itself


def test_forget_leaves_the_process_alone() -> None:
    running, _ = run([(0, p.Want()), (0, p.Spawned(7))])
    left, cmds = p.step(running, p.Forget(), 1, POLICY)
    assert cmds == () and left.phase == p.Phase.STOPPED


@pytest.mark.parametrize(("phase", "event"), [
    (p.Phase.STOPPED, p.Exited("exit 0")),
    (p.Phase.RUNNING, p.Want()),
    (p.Phase.WAITING, p.Spawned(3)),
    (p.Phase.RUNNING, p.SpawnFailed("x")),
])
def test_events_outside_the_table_are_refused(phase: p.Phase, event: p.Event) -> None:
    state = p.ProcState("web", phase=phase)
    assert p.step(state, event, 0, POLICY) == (state, (p.Refused("web", event, phase),))


def test_every_event_has_a_row_in_the_table() -> None:
    assert set(p.TRANSITIONS) == {p.Want, p.Spawned, p.SpawnFailed, p.Exited, p.Tick, p.Stop,
                                  p.Forget}
