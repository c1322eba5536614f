"""Queue statistics computed from a hand-made queue log, and time in status."""

from __future__ import annotations

import pytest

from controlplane.acd.agent_events import Status as S
from controlplane.acd.agent_events import StatusChanged
from controlplane.acd.stats import QueueLogRecord, agents_per_status, queue_report, time_in_status


def R(iid: str, kind: str, at: float, agent: str | None = None, q: str = "q") -> QueueLogRecord:
    return QueueLogRecord(iid, q, kind, at, agent)


LOG = [
    # A: answered after 10 s, talked 100 s
    R("A", "enter", 0),
    R("A", "offer", 2, "a1"),
    R("A", "answer", 10, "a1"),
    R("A", "end", 110),
    # B: rang a1 out, answered by a2 after 30 s, talked 200 s
    R("B", "enter", 5),
    R("B", "offer", 6, "a1"),
    R("B", "offer_timeout", 26, "a1"),
    R("B", "offer", 27, "a2"),
    R("B", "answer", 35, "a2"),
    R("B", "end", 235),
    # C: abandoned after 40 s
    R("C", "enter", 10),
    R("C", "abandon", 50),
    # D: overflowed after 60 s
    R("D", "enter", 20),
    R("D", "overflow", 80),
    # E: abandoned after 3 s (short abandon when short_abandon_s > 3)
    R("E", "enter", 30),
    R("E", "abandon", 33),
    # F: still waiting since 200
    R("F", "enter", 200),
    # another queue's records are ignored
    R("Z", "enter", 0, q="other"),
    R("Z", "answer", 1, q="other"),
]


def test_service_level_abandon_and_handle_time_from_a_hand_made_log() -> None:
    r = queue_report(reversed(LOG), "q", now=260.0, threshold_s=20.0)
    assert (r.entered, r.answered, r.answered_in_threshold, r.abandoned, r.overflowed) == (
        6,
        2,
        1,
        2,
        1,
    )
    assert r.service_level_pct == pytest.approx(100 * 1 / 5)
    assert r.abandon_rate_pct == pytest.approx(100 * 2 / 5)
    assert r.avg_speed_of_answer_s == pytest.approx(20.0)
    assert r.avg_handle_s == pytest.approx(150.0)
    assert (r.waiting, r.longest_wait_s) == (1, 60.0)


def test_short_abandons_are_left_out() -> None:
    r = queue_report(LOG, "q", now=260.0, threshold_s=30.0, short_abandon_s=5.0)
    assert (r.abandoned, r.short_abandoned) == (1, 1)
    assert r.service_level_pct == pytest.approx(100 * 2 / 4)
    assert r.abandon_rate_pct == pytest.approx(25.0)


def test_empty_log() -> None:
    r = queue_report([], "q", now=0.0)
    assert r.service_level_pct is None and r.avg_handle_s is None and r.waiting == 0


STATUS_LOG = [
    StatusChanged("a1", S.LOGGED_OUT, S.READY, None, 0),
    StatusChanged("a1", S.READY, S.ON_CALL, None, 10),
    StatusChanged("a1", S.ON_CALL, S.BREAK, "lunch", 70),
    StatusChanged("a2", S.LOGGED_OUT, S.READY, None, 5),
    StatusChanged("a2", S.READY, S.LOGGED_OUT, None, 25),
    StatusChanged("a3", S.LOGGED_OUT, S.READY, None, 50),
]


def test_time_in_status_and_agents_per_status() -> None:
    assert time_in_status(STATUS_LOG, now=100) == {
        "a1": {"ready": 10, "on_call": 60, "break:lunch": 30},
        "a2": {"ready": 20},
        "a3": {"ready": 50},
    }
    assert agents_per_status(STATUS_LOG) == {S.BREAK: 1, S.READY: 1}
