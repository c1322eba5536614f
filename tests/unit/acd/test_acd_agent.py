"""The agent machine, table-driven: the work cycle, wrap-up, missed offers, breaks, reachability."""

from __future__ import annotations

import pytest

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.agent_events import BreakKind, BreakReason, Status
from controlplane.acd.interactions import Channel
from controlplane.acd.testing import run_agent, statuses

V = Channel.VOICE
BREAKS = {
    "lunch": BreakReason("lunch", BreakKind.APPROVAL),
    "coffee": BreakReason("coffee", BreakKind.CONDITIONAL, max_on_break=2),
    "toilet": BreakReason("toilet", BreakKind.FREE),
    "training": BreakReason("training", BreakKind.SUPERVISOR),
}
CFG = am.AgentSettings(max_missed=3, breaks=BREAKS)


def offer(iid: str = "i1", wrap: float = 0.0, channel: Channel = V, queue: str = "q") -> ev.Reserve:
    return ev.Reserve(iid, channel, queue, wrap)


LOGIN = (0.0, ev.LoggedIn())


def test_login_ready_and_cycle_with_wrap_up_from_the_queue() -> None:
    s, out = run_agent(
        [
            LOGIN,
            (1, offer(wrap=10)),
            (2, ev.Ringing("i1")),
            (3, ev.Answered("i1")),
            (50, ev.InteractionEnded("i1")),
            (55, ev.Tick()),
            (60, ev.Tick()),
        ],
        CFG,
    )
    assert statuses(out) == ["ready", "reserved", "ringing", "on_call", "wrap_up", "ready"]
    changes = [o for o in out if isinstance(o, ev.StatusChanged)]
    assert [(c.from_, c.to, c.at) for c in changes][-2:] == [
        (Status.ON_CALL, Status.WRAP_UP, 50),
        (Status.WRAP_UP, Status.READY, 60),
    ]
    assert s.status == Status.READY and s.idle_since == 60 and s.answered == 1


@pytest.mark.parametrize(("wrap", "at_ready"), [(0.0, 50.0), (5.0, 55.0), (30.0, 80.0)])
def test_wrap_up_duration_is_per_queue(wrap: float, at_ready: float) -> None:
    events: list[tuple[float, ev.AgentEvent]] = [
        LOGIN,
        (1, offer(wrap=wrap)),
        (3, ev.Answered("i1")),
        (50, ev.InteractionEnded("i1")),
    ]
    events += [(t, ev.Tick()) for t in range(51, 100)]
    _, out = run_agent(events, CFG)
    ready = [o.at for o in out if isinstance(o, ev.StatusChanged) and o.to == Status.READY]
    assert ready == [0.0, at_ready]


def test_agent_ends_wrap_up_early() -> None:
    s, _ = run_agent(
        [
            LOGIN,
            (1, offer(wrap=60)),
            (2, ev.Answered("i1")),
            (10, ev.InteractionEnded("i1")),
            (12, ev.GoReady()),
        ],
        CFG,
    )
    assert s.status == Status.READY


@pytest.mark.parametrize(
    ("outcomes", "final"),
    [
        (["fail", "fail", "fail"], "break:missed"),
        (["fail", "fail"], "ready"),
        (["fail", "fail", "answer", "fail"], "ready"),  # an answer resets the count
        (["fail", "cancel", "cancel", "fail"], "ready"),  # cancellations are not misses
        (["fail", "fail", "cancel", "fail"], "break:missed"),
    ],
)
def test_missed_offers_lead_to_missed_break(outcomes: list[str], final: str) -> None:
    events: list[tuple[float, ev.AgentEvent]] = [LOGIN]
    t = 1.0
    for n, what in enumerate(outcomes):
        iid = f"i{n}"
        events.append((t, offer(iid)))
        if what == "fail":
            events.append((t + 20, ev.OfferFailed(iid)))
        elif what == "cancel":
            events.append((t + 1, ev.OfferCancelled(iid)))
        else:
            events += [(t + 2, ev.Answered(iid)), (t + 30, ev.InteractionEnded(iid))]
        t += 60
    s, out = run_agent(events, CFG)
    assert statuses(out)[-1] == final
    assert am.available_channels(s) == (frozenset() if final != "ready" else frozenset(Channel))


def test_missed_break_disabled_with_zero() -> None:
    cfg = am.AgentSettings(max_missed=0)
    events = [LOGIN] + [
        e
        for n in range(5)
        for e in ((n * 10 + 1, offer(f"i{n}")), (n * 10 + 2, ev.OfferFailed(f"i{n}")))
    ]
    s, _ = run_agent(events, cfg)
    assert s.status == Status.READY


def test_approval_break_flow_approved_and_denied() -> None:
    s, out = run_agent([LOGIN, (1, ev.RequestBreak("lunch"))], CFG)
    assert s.status == Status.READY and s.pending_break == "lunch"
    assert am.available_channels(s)  # keeps taking calls while waiting for the supervisor
    s2, out2 = run_agent([(5, ev.ApproveBreak("sup"))], CFG, s)
    assert statuses(out2) == ["break:lunch"]
    assert [(b.action, b.by) for b in out + out2 if isinstance(b, ev.BreakLog)] == [
        ("requested", None),
        ("approved", "sup"),
    ]
    s3, out3 = run_agent([(5, ev.DenyBreak("sup"))], CFG, s)
    assert s3.status == Status.READY and s3.pending_break is None and statuses(out3) == []
    assert [(b.action, b.by) for b in out3 if isinstance(b, ev.BreakLog)] == [("denied", "sup")]
    s4, _ = run_agent([(5, ev.CancelBreakRequest()), (6, ev.ApproveBreak("sup"))], CFG, s)
    assert s4.status == Status.READY


def test_break_approved_during_a_call_starts_after_wrap_up() -> None:
    s, out = run_agent(
        [
            LOGIN,
            (1, offer(wrap=10)),
            (2, ev.Answered("i1")),
            (3, ev.RequestBreak("lunch")),
            (4, ev.ApproveBreak("sup")),
            (30, ev.InteractionEnded("i1")),
            (40, ev.Tick()),
        ],
        CFG,
    )
    assert statuses(out) == ["ready", "reserved", "on_call", "wrap_up", "break:lunch"]
    assert s.deferred is None


def test_forced_break_immediate_when_ready_deferred_when_on_call() -> None:
    s, out = run_agent([LOGIN, (1, ev.ForceBreak("training", "sup"))], CFG)
    assert statuses(out)[-1] == "break:training"
    s, out = run_agent(
        [LOGIN, (1, offer()), (2, ev.Answered("i1")), (3, ev.ForceBreak("training", "sup"))], CFG
    )
    assert s.status == Status.ON_CALL and s.deferred == am.Deferred("break", "training", "sup")
    s, out = run_agent([(9, ev.InteractionEnded("i1"))], CFG, s)
    assert statuses(out) == ["break:training"]


def test_supervisor_only_break_cannot_be_requested_by_the_agent() -> None:
    s, out = run_agent([LOGIN, (1, ev.RequestBreak("training"))], CFG)
    assert s.status == Status.READY
    assert isinstance(out[-1], ev.Refused) and "supervisor" in out[-1].why


@pytest.mark.parametrize(
    ("on_break", "final"), [(0, "break:coffee"), (1, "break:coffee"), (2, "ready"), (5, "ready")]
)
def test_conditional_break_cap(on_break: int, final: str) -> None:
    s, out = run_agent([LOGIN, (1, ev.RequestBreak("coffee", on_break=on_break))], CFG)
    assert statuses(out)[-1] == final
    if final == "ready":
        assert isinstance(out[-1], ev.Refused) and "at most 2" in out[-1].why


def test_free_break_and_back() -> None:
    s, out = run_agent([LOGIN, (1, ev.RequestBreak("toilet")), (5, ev.GoReady())], CFG)
    assert statuses(out) == ["ready", "break:toilet", "ready"]


def test_unreachable_phone_is_never_offered_a_call_until_reachable() -> None:
    s, out = run_agent([LOGIN, (1, ev.ContactStatus("Unreachable"))], CFG)
    assert s.status == Status.READY and not s.reachable
    assert Channel.VOICE not in am.available_channels(s) and Channel.CHAT in am.available_channels(
        s
    )
    s, out = run_agent([(2, offer())], CFG, s)
    assert s.status == Status.READY and isinstance(out[-1], ev.Refused)
    s, out = run_agent([(3, ev.ContactStatus("Unknown"))], CFG, s)
    assert not s.reachable
    s, out = run_agent([(4, ev.ContactStatus("Reachable")), (5, offer())], CFG, s)
    assert s.status == Status.RESERVED and out[0] == ev.ReachabilityChanged("ag", True, 4)


def test_removed_contact_is_unreachable() -> None:
    s, _ = run_agent([LOGIN, (1, ev.ContactStatus("Removed"))], CFG)
    assert Channel.VOICE not in am.available_channels(s)


def test_logout_while_on_call_is_deferred() -> None:
    s, out = run_agent(
        [LOGIN, (1, offer(wrap=5)), (2, ev.Answered("i1")), (3, ev.LoggedOut())], CFG
    )
    assert s.status == Status.ON_CALL and not am.available_channels(s)
    s, out = run_agent([(9, ev.InteractionEnded("i1")), (14, ev.Tick())], CFG, s)
    assert statuses(out) == ["wrap_up", "logged_out"]


def test_chat_capacity_six_and_voice_exclusive() -> None:
    events: list[tuple[float, ev.AgentEvent]] = [LOGIN]
    for n in range(6):
        events += [(n + 1, offer(f"c{n}", channel=Channel.CHAT)), (n + 1.5, ev.Answered(f"c{n}"))]
    s, out = run_agent(events, CFG)
    assert s.status == Status.ON_CALL and s.load == {Channel.CHAT: 6}
    assert Channel.CHAT not in am.available_channels(
        s
    ) and Channel.VOICE not in am.available_channels(s)
    s, out = run_agent([(10, offer("c6", channel=Channel.CHAT))], CFG, s)
    assert isinstance(out[-1], ev.Refused)
    s, out = run_agent([(11, ev.InteractionEnded("c0"))], CFG, s)
    assert Channel.CHAT in am.available_channels(s) and Channel.VOICE not in am.available_channels(
        s
    )
    # voice blocks chats
    v, _ = run_agent([LOGIN, (1, offer()), (2, ev.Answered("i1"))], CFG)
    assert am.available_channels(v) == frozenset()


def test_emails_are_background_work_ready_wrap_up_and_breaks_go_on() -> None:
    E = Channel.EMAIL
    s, out = run_agent([LOGIN, (1, offer("e1", channel=E)), (2, ev.Answered("e1"))], CFG)
    assert statuses(out) == ["ready", "reserved", "ready"] and s.load == {E: 1}
    assert am.available_channels(s) == {V, Channel.CHAT, E}  # calls still reach them
    s, out = run_agent([(3, offer(wrap=10)), (4, ev.Answered("i1")),
                        (9, ev.InteractionEnded("i1")), (19, ev.Tick())], CFG, s)
    assert statuses(out) == ["reserved", "on_call", "wrap_up", "ready"]  # the call's wrap-up
    s, out = run_agent([(20, ev.RequestBreak("toilet")), (30, ev.InteractionEnded("e1"))],
                       CFG, s)
    assert statuses(out) == ["break:toilet"] and s.load == {}  # at once; solved on the break


@pytest.mark.parametrize(
    ("status_events", "event"),
    [
        ([], ev.GoReady()),  # already ready
        ([(1, ev.RequestBreak("toilet"))], offer()),  # no offers on a break
        ([(1, offer())], offer("i2")),  # one offer at a time
        ([], ev.Answered("nope")),
        ([], ev.ApproveBreak("sup")),  # nothing to approve
        ([(1, ev.RequestBreak("toilet"))], ev.InteractionEnded("x")),
    ],
)
def test_events_not_allowed_are_refused_and_change_nothing(
    status_events: list[tuple[float, ev.AgentEvent]], event: ev.AgentEvent
) -> None:
    s, _ = run_agent([LOGIN, *status_events], CFG)
    s2, out = am.step(s, event, 99.0, CFG)
    assert s2 == s and len(out) == 1 and isinstance(out[0], ev.Refused)


def test_table_lists_every_event_and_logged_out_accepts_only_login() -> None:
    assert set(am.TRANSITIONS) == set(am._HANDLERS)
    accepted = {e for e, rows in am.TRANSITIONS.items() if Status.LOGGED_OUT in rows}
    assert accepted == {ev.LoggedIn, ev.ContactStatus, ev.Tick}
