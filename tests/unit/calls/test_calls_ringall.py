"""Ring-all in the call machine: several agent legs of one queued call ring at once.

Table-driven: each scenario is a list of (event, the commands it must produce), starting
from a call that waits in a queue and has three legs ringing (demo-1001 on ``call1-agent``,
demo-1002 on ``call1-agent1``, demo-1003 on ``call1-agent2``). Commands are written
compactly (see :func:`show`) and compared exactly, in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine as m
from controlplane.engine import commands as c

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
IVR_DID = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
QUEUE = m.IvrFinished("queued:sales", queue="sales")
PHONES = ("demo-1001", "demo-1002", "demo-1003")


def offer(phone: str) -> m.OfferAgent:
    return m.OfferAgent(phone, f"PJSIP/{phone}", 15)


def gone(channel: str, cause: int = 19) -> m.LegGone:
    return m.LegGone("agent", cause, "x", channel=channel)


def show(cmd: object) -> str:
    """One command as a short line: its kind and what it names."""
    match cmd:
        case c.Originate(channel_id=ch, endpoint=ep):
            return f"Originate {ch} {ep}"
        case c.Hangup(channel_id=ch):
            return f"Hangup {ch}"
        case c.AddToBridge(channel_ids=chs):
            return "AddToBridge " + " ".join(chs)
        case m.QueueNotify(what=what, agent_endpoint=ep, cause=cause):
            return f"QueueNotify {what} {ep}" + (f" {cause}" if cause else "")
        case _:
            return type(cmd).__name__


def ringing() -> m.CallState:
    """A queued call with three ring-all legs ringing."""
    state, _ = m.start(m.Entered("call1", "48600", IVR_DID), T0)
    state, _ = m.step(state, QUEUE, T0)
    for phone in PHONES:
        state, _ = m.step(state, offer(phone), T0)
    return state


ANSWER_2 = m.AgentAnswered("call1-agent1")
CALLER_GONE = m.LegGone("caller", 16, "Normal Clearing")

SCENARIOS = {
    "second answers: bridged, the others hung up, their late news ignored": [
        (ANSWER_2, ["StopMoh", "CreateBridge", "AddToBridge call1 call1-agent1",
                    "Hangup call1-agent", "Hangup call1-agent2", "SaveCall",
                    "QueueNotify answered demo-1002"]),
        # the ACD withdraws the others (answered elsewhere): nothing rings any more
        (m.CancelOffer("answered_elsewhere", "demo-1001"), []),
        (m.CancelOffer("answered_elsewhere", "demo-1003"), []),
        (gone("call1-agent", 16), []),
        # the third phone answered before its hang-up arrived: dropped, never bridged
        (m.AgentAnswered("call1-agent2"), ["Hangup call1-agent2"]),
        (gone("call1-agent2", 16), []),
        (m.Connected(record=False), []),
        (CALLER_GONE, ["Hangup call1-agent1", "DestroyBridge", "QueueNotify ended demo-1002"]),
        (gone("call1-agent1", 16), ["DestroyBridge", "SaveCall"]),  # "ended" told once
    ],
    "all fail: each reported for its own agent, the call keeps waiting": [
        (gone("call1-agent1", 17), ["QueueNotify failed demo-1002 17"]),
        (gone("call1-agent", 19), ["QueueNotify failed demo-1001 19"]),
        (gone("call1-agent1", 16), []),  # reported once only
        (gone("call1-agent2", 20), ["QueueNotify failed demo-1003 20"]),
    ],
    "caller leaves: every ringing leg hung up, ENDED when the last is gone": [
        (CALLER_GONE, ["QueueNotify caller_left demo-1003", "Hangup call1-agent",
                       "Hangup call1-agent1", "Hangup call1-agent2"]),
        (gone("call1-agent1", 16), []),
        (offer("demo-1001"), []),  # the queue's news crossed the caller's hang-up
        (gone("call1-agent", 16), []),
        (gone("call1-agent2", 16), ["SaveCall"]),
    ],
    "late answer of a withdrawn leg: hung up, the others still ring and can win": [
        (m.CancelOffer("timeout", "demo-1001"), ["Hangup call1-agent"]),
        (m.AgentAnswered("call1-agent"), ["Hangup call1-agent"]),
        (gone("call1-agent", 16), []),  # not a failed offer: it was withdrawn
        (m.AgentAnswered("call1-agent2"), ["StopMoh", "CreateBridge",
                                           "AddToBridge call1 call1-agent2",
                                           "Hangup call1-agent1", "SaveCall",
                                           "QueueNotify answered demo-1003"]),
    ],
    "re-offer after all failed uses fresh leg ids": [
        (gone("call1-agent"), ["QueueNotify failed demo-1001 19"]),
        (gone("call1-agent1"), ["QueueNotify failed demo-1002 19"]),
        (gone("call1-agent2"), ["QueueNotify failed demo-1003 19"]),
        (offer("demo-1001"), ["SaveCall", "Originate call1-agent3 PJSIP/demo-1001"]),
        (offer("demo-1003"), ["SaveCall", "Originate call1-agent4 PJSIP/demo-1003"]),
        (gone("call1-agent"), []),  # a late echo of the first round
        (m.AgentAnswered("call1-agent1"), ["Hangup call1-agent1"]),
        (m.AgentAnswered("call1-agent4"), ["StopMoh", "CreateBridge",
                                           "AddToBridge call1 call1-agent4",
                                           "Hangup call1-agent3", "SaveCall",
                                           "QueueNotify answered demo-1003"]),
    ],
    "a withdrawal without an agent (restart) hangs up every leg": [
        (m.CancelOffer("restart"), ["Hangup call1-agent", "Hangup call1-agent1",
                                    "Hangup call1-agent2"]),
        (gone("call1-agent1", 16), []),
        (m.AgentAnswered("call1-agent2"), ["Hangup call1-agent2"]),
    ],
    "one fails, one is withdrawn, the last answers": [
        (gone("call1-agent2", 17), ["QueueNotify failed demo-1003 17"]),
        (m.CancelOffer("timeout", "demo-1002"), ["Hangup call1-agent1"]),
        (m.CancelOffer("timeout", "demo-1002"), []),  # twice: nothing more
        (m.AgentAnswered("call1-agent"), ["StopMoh", "CreateBridge",
                                          "AddToBridge call1 call1-agent", "SaveCall",
                                          "QueueNotify answered demo-1001"]),
    ],
    "the queue gives up: every ringing leg hung up with the caller": [
        (m.LeaveQueue("max_wait"), ["StopMoh", "Hangup call1-agent", "Hangup call1-agent1",
                                    "Hangup call1-agent2", "Hangup call1"]),
        (gone("call1-agent", 16), []),
        (CALLER_GONE, ["Hangup call1-agent1", "Hangup call1-agent2"]),
        (gone("call1-agent1", 16), []),
        (gone("call1-agent2", 16), ["SaveCall"]),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_ring_all(name: str) -> None:
    state = ringing()
    for i, (event, expected) in enumerate(SCENARIOS[name], 1):
        state, cmds = m.step(state, event, T0 + timedelta(seconds=i))
        assert [show(x) for x in cmds] == expected, f"step {i}: {event}"
        assert state.agent_dialed == bool(state.ringing)
        # every leg the call ever named still leads back to it (service/reconcile rely on it)
        assert all(m.call_of_agent_channel(leg.channel) == "call1" for leg in state.ringing)


def test_three_offers_ring_three_legs_at_once() -> None:
    state, _ = m.start(m.Entered("call1", "48600", IVR_DID), T0)
    state, _ = m.step(state, QUEUE, T0)
    legs = []
    for phone in PHONES:
        state, cmds = m.step(state, offer(phone), T0)
        assert [show(x) for x in cmds][0] == "SaveCall"
        legs.append(show(cmds[1]))
    assert legs == ["Originate call1-agent PJSIP/demo-1001",
                    "Originate call1-agent1 PJSIP/demo-1002",
                    "Originate call1-agent2 PJSIP/demo-1003"]
    assert [(leg.channel, leg.agent_endpoint) for leg in state.ringing] == [
        ("call1-agent", "demo-1001"), ("call1-agent1", "demo-1002"), ("call1-agent2", "demo-1003")]
    # the same phone offered again while it rings: no second leg
    assert m.step(state, offer("demo-1002"), T0) == (state, [])


def test_answer_names_the_answering_agent_in_the_state_and_record() -> None:
    state, _ = m.step(ringing(), ANSWER_2, T0)
    assert state.phase == m.Phase.TALKING and state.ringing == () and not state.agent_dialed
    assert (state.agent_endpoint, state.dial, state.agent_channel) == (
        "demo-1002", "PJSIP/demo-1002", "call1-agent1")
    assert state.answered_at == T0


def test_caller_leaving_ends_only_after_every_leg_is_gone() -> None:
    state, _ = m.step(ringing(), CALLER_GONE, T0)
    assert state.phase == m.Phase.ENDING and state.hangup_by == "caller"
    for channel in ("call1-agent2", "call1-agent"):
        state, _ = m.step(state, gone(channel, 16), T0)
        assert state.phase == m.Phase.ENDING
    state, cmds = m.step(state, gone("call1-agent1", 16), T0)
    assert state.phase == m.Phase.ENDED and cmds == [m.SaveCall(state)]


def test_campaign_deadline_hangs_up_every_ringing_leg() -> None:
    plan = cm.CampaignPlan("a1", "PJSIP/1001234@lab", 20, "q", "sound:sorry", amd=False)
    binding = m.Binding(1, "campaign", "1001234", None, "lab", None, None, None)
    state, _ = cm.start(cm.CampaignEntered("campaign-a1", "4822", binding, plan), T0)
    state, _ = cm.step(state, plan, cm.CustomerAnswered(), T0)
    for phone in PHONES[:2]:
        state, _ = cm.step(state, plan, offer(phone), T0)
    state, cmds = cm.step(state, plan, m.ConnectDeadline(), T0 + timedelta(seconds=2))
    assert [show(x) for x in cmds] == ["QueueNotify caller_left demo-1002",
                                       "Hangup campaign-a1-agent", "Hangup campaign-a1-agent1",
                                       "PlayAbandon", "SaveCall"]
    assert state.phase == m.Phase.ABANDONING and state.ringing == ()
