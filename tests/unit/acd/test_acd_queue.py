"""The queue-side machine of one interaction: offers, answer, timeouts, overflow, announcements."""

from __future__ import annotations

import pytest

from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Channel
from controlplane.acd.queues import Destination, DestinationKind, QueueConfig, Recording
from controlplane.acd.stats import QueueLogRecord
from controlplane.acd.testing import interaction, queue

OVERFLOW = Destination(DestinationKind.QUEUE, "backup")
VOICEMAIL = Destination(DestinationKind.VOICEMAIL, "vm-sales")


def kinds(out: list[qm.QueueOutput]) -> list[str]:
    return [f"log:{o.kind}" if isinstance(o, QueueLogRecord) else type(o).__name__ for o in out]


def run(
    q: QueueConfig,
    events: list[tuple[float, qm.QueueEvent]],
    waiting: int = 0,
    staffed: int = 1,
    channel: Channel = Channel.VOICE,
) -> tuple[qm.QueuedState, list[list[qm.QueueOutput]]]:
    s, out = qm.start(qm.Enter(interaction("i1", channel=channel), waiting, staffed), q, 0.0)
    outs = [out]
    for now, e in events:
        s, out = qm.step(s, e, now, q)
        outs.append(out)
    return s, outs


Q = queue(announce_interval_s=None)


def test_enter_offer_answer() -> None:
    s, outs = run(Q, [(1, qm.Offered(("a",), 20)), (5, qm.AgentAnswered("a"))])
    assert kinds(outs[0]) == ["log:enter"]  # hold music: the call machine's (StartMoh)
    assert kinds(outs[1]) == ["Offer", "log:offer"]
    assert kinds(outs[2]) == ["Connect", "Record", "log:answer", "Left"]
    assert outs[2][-1] == qm.Left("i1", "q", "answered")
    assert s.phase == qm.Phase.CONNECTED and s.agent == "a"


@pytest.mark.parametrize(
    ("policy", "record"),
    [
        (Recording.ALWAYS, [qm.Record("i1", "a", Recording.ALWAYS)]),
        (Recording.ON_DEMAND, [qm.Record("i1", "a", Recording.ON_DEMAND)]),
        (Recording.NEVER, []),
    ],
)
def test_recording_policy_on_answer(policy: Recording, record: list[qm.Record]) -> None:
    _, outs = run(
        queue(recording=policy), [(1, qm.Offered(("a",), 20)), (5, qm.AgentAnswered("a"))]
    )
    assert [o for o in outs[-1] if isinstance(o, qm.Record)] == record


def test_ring_all_first_answer_wins_others_cancelled() -> None:
    s, outs = run(
        Q,
        [
            (1, qm.Offered(("a", "b", "c"), 20)),
            (3, qm.AgentAnswered("b")),
            (4, qm.AgentAnswered("c")),
        ],
    )
    assert [o for o in outs[2] if isinstance(o, qm.CancelOffer)] == [
        qm.CancelOffer("a", "i1", "answered_elsewhere"),
        qm.CancelOffer("c", "i1", "answered_elsewhere"),
    ]
    assert outs[3] == [qm.CancelOffer("c", "i1", "late")] and s.agent == "b"


def test_offer_deadline_on_tick_returns_to_waiting_and_counts_tries() -> None:
    s, outs = run(Q, [(1, qm.Offered(("a",), 20)), (20, qm.Tick()), (21, qm.Tick())])
    assert outs[2] == []
    assert kinds(outs[3]) == ["CancelOffer", "log:offer_timeout"] and outs[3][0].reason == "timeout"  # type: ignore[union-attr]
    assert s.phase == qm.Phase.WAITING and s.tried == {"a": 1}


def test_offer_failure_reported_by_adapter() -> None:
    s, outs = run(
        Q,
        [
            (1, qm.Offered(("a", "b"), 20)),
            (2, qm.OfferTimeout("a", "busy")),
            (3, qm.OfferTimeout("a")),
        ],
    )
    assert s.phase == qm.Phase.OFFERED and s.offered == ("b",) and outs[3] == []
    s, _ = qm.step(s, qm.OfferTimeout("b", "rejected"), 4, Q)
    assert s.phase == qm.Phase.WAITING and s.tried == {"a": 1, "b": 1}


@pytest.mark.parametrize(("at", "overflowed"), [(59.0, False), (60.0, True)])
def test_overflow_by_wait(at: float, overflowed: bool) -> None:
    q = queue(max_wait_s=60.0, overflow=OVERFLOW, announce_interval_s=None)
    s, outs = run(q, [(1, qm.Offered(("a",), 100)), (at, qm.Tick())])
    if overflowed:
        assert kinds(outs[-1]) == ["CancelOffer", "log:overflow", "Overflow", "Left"]
        assert qm.Overflow("i1", OVERFLOW, "max_wait") in outs[-1]
        assert s.phase == qm.Phase.OVERFLOWED
    else:
        assert outs[-1] == [] and s.phase == qm.Phase.OFFERED


@pytest.mark.parametrize(("waiting", "overflowed"), [(4, False), (5, True), (9, True)])
def test_overflow_by_count(waiting: int, overflowed: bool) -> None:
    q = queue(max_waiting=5, overflow=OVERFLOW)
    s, outs = run(q, [], waiting=waiting)
    assert (s.phase == qm.Phase.OVERFLOWED) == overflowed
    if overflowed:
        assert kinds(outs[0]) == ["log:enter", "log:overflow", "Overflow", "Left"]
        assert outs[0][2] == qm.Overflow("i1", OVERFLOW, "max_waiting")


def test_no_overflow_destination_keeps_waiting() -> None:
    s, _ = run(queue(max_wait_s=10, max_waiting=1), [(100, qm.Tick())], waiting=3)
    assert s.phase == qm.Phase.WAITING


@pytest.mark.parametrize(
    ("policy", "phase", "left"),
    [
        (None, qm.Phase.WAITING, None),
        (VOICEMAIL, qm.Phase.DIVERTED, "no_agents"),
        (Destination(DestinationKind.CALLBACK), qm.Phase.DIVERTED, "no_agents"),
    ],
)
def test_no_agents_logged_in(policy: Destination | None, phase: qm.Phase, left: str | None) -> None:
    q = queue(no_agents=policy)
    s, outs = run(q, [], staffed=0)
    assert s.phase == phase
    assert [o.outcome for o in outs[0] if isinstance(o, qm.Left)] == ([left] if left else [])
    if policy:
        assert qm.Overflow("i1", policy, "no_agents") in outs[0]
    # the last member logs out while the caller waits
    s, outs = run(q, [(5, qm.Tick(staffed=1)), (6, qm.Tick(staffed=0))])
    assert s.phase == phase and outs[1] == []


def test_periodic_position_announcements_not_while_ringing() -> None:
    q = queue(announce_interval_s=30.0)
    s, outs = run(
        q,
        [
            (29, qm.Tick(3, 90.0)),
            (30, qm.Tick(3, 90.0)),
            (45, qm.Tick(2, 60.0)),
            (60, qm.Tick(2, 60.0)),
            (61, qm.Offered(("a",), 40)),
            (95, qm.Tick(1, 0.0)),
        ],
    )
    announced = [o for out in outs for o in out if isinstance(o, qm.AnnouncePosition)]
    assert announced == [qm.AnnouncePosition("i1", 3, 90.0), qm.AnnouncePosition("i1", 2, 60.0)]


def test_callback_request_removes_interaction() -> None:
    s, outs = run(Q, [(1, qm.Offered(("a",), 20)), (3, qm.CallbackRequested()), (4, qm.Tick())])
    assert kinds(outs[2]) == ["CancelOffer", "log:callback", "Left"]
    assert outs[2][-1] == qm.Left("i1", "q", "callback_requested") and outs[3] == []
    assert s.phase == qm.Phase.CALLBACK


def test_abandon_while_ringing_then_stale_offer() -> None:
    s, outs = run(
        Q, [(1, qm.Offered(("a",), 20)), (3, qm.CallerAbandoned()), (4, qm.Offered(("b",), 20))]
    )
    assert outs[2][0] == qm.CancelOffer("a", "i1", "caller_left")
    assert kinds(outs[2]) == ["CancelOffer", "log:abandon", "Left"]
    assert outs[3] == [qm.CancelOffer("b", "i1", "stale")] and s.phase == qm.Phase.ABANDONED


def test_connected_then_ended() -> None:
    s, outs = run(
        Q,
        [
            (1, qm.Offered(("a",), 20)),
            (2, qm.AgentAnswered("a")),
            (90, qm.Ended()),
            (91, qm.Ended()),
        ],
    )
    assert kinds(outs[3]) == ["log:end"] and outs[4] == [] and s.phase == qm.Phase.ENDED


@pytest.mark.parametrize("channel", [Channel.VOICE, Channel.CHAT])
def test_hold_music_is_not_the_queue_machines(channel: Channel) -> None:
    # One model of hold music: the call machine starts it when the call is queued and stops
    # it on answer or leave (tests/unit/calls/test_calls_machine.py); the queue never does.
    q = queue(max_wait_s=60.0, overflow=OVERFLOW, announce_interval_s=None)
    _, outs = run(
        q,
        [(1, qm.Offered(("a",), 20)), (2, qm.AgentAnswered("a")), (90, qm.Ended())],
        channel=channel,
    )
    _, more = run(q, [(1, qm.Offered(("a",), 100)), (61, qm.Tick())], channel=channel)
    names = [k for out in outs + more for k in kinds(out)]
    assert "Connect" in names and "Overflow" in names
    assert not [k for k in names if "moh" in k.lower()]
