"""The call-leg machine, table-driven: each row is a sequence of events and what must follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.calls import machine as m
from controlplane.engine import commands as c

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
INBOUND = m.Binding(1, "inbound", "4822100", "4822100", "lab", "demo-1001", "PJSIP/demo-1001",
                    "sound:hello-world")
OUTBOUND = m.Binding(1, "outbound", "1001234", None, "lab", "demo-1003", "PJSIP/1001234@lab", None)
NOWHERE = m.Binding(None, "inbound", "999", "999", None, None, None, None)


def run(binding: m.Binding, events: list[m.CallEvent]) -> tuple[m.CallState, list[list[object]]]:
    state, cmds = m.start(m.Entered("call1", "48600", binding), T0)
    out = [cmds]
    for i, event in enumerate(events, 1):
        state, cmds = m.step(state, event, T0 + timedelta(seconds=i))
        out.append(cmds)
    return state, out


def kinds(cmds: list[object]) -> list[str]:
    return [type(x).__name__ for x in cmds]


PROMPT = m.PromptDone("call1-prompt")
ANSWER = m.AgentAnswered()
CALLER_GONE = m.LegGone("caller", 16, "Normal Clearing")
AGENT_GONE = m.LegGone("agent", 16, "Normal Clearing")
NO_ANSWER = m.LegGone("agent", 19, "No answer")


@pytest.mark.parametrize(
    ("binding", "events", "phase", "hangup_by", "answered", "last"),
    [
        # caller hangs up during the conversation
        (INBOUND, [PROMPT, ANSWER, CALLER_GONE, AGENT_GONE], m.Phase.ENDED, "caller", True,
         ["DestroyBridge", "SaveCall"]),
        # agent hangs up first
        (INBOUND, [PROMPT, ANSWER, AGENT_GONE, CALLER_GONE], m.Phase.ENDED, "agent", True,
         ["DestroyBridge", "SaveCall"]),
        # the phone never answers: the caller is released
        (INBOUND, [PROMPT, NO_ANSWER, CALLER_GONE], m.Phase.ENDED, "agent", False, ["SaveCall"]),
        # caller gives up while the phone rings: ringing leg cancelled
        (INBOUND, [PROMPT, CALLER_GONE, NO_ANSWER], m.Phase.ENDED, "caller", False, ["SaveCall"]),
        # caller hangs up during the prompt
        (INBOUND, [CALLER_GONE], m.Phase.ENDED, "caller", False, ["SaveCall"]),
        # unknown DID: no-service message, then the platform hangs up
        (NOWHERE, [PROMPT, CALLER_GONE], m.Phase.ENDED, "caller", False, ["SaveCall"]),
        # outbound: dials at once, answered, phone hangs up
        (OUTBOUND, [ANSWER, CALLER_GONE, AGENT_GONE], m.Phase.ENDED, "caller", True,
         ["DestroyBridge", "SaveCall"]),
    ],
)
def test_call_flows(binding, events, phase, hangup_by, answered, last) -> None:  # type: ignore[no-untyped-def]
    state, out = run(binding, events)
    assert state.phase == phase
    assert state.hangup_by == hangup_by
    assert (state.answered_at is not None) == answered
    assert kinds(out[-1])[-len(last):] == last
    assert isinstance(out[-1][-1], m.SaveCall) and out[-1][-1].state == state


def test_inbound_start_saves_then_answers_and_plays_prompt() -> None:
    state, cmds = m.start(m.Entered("call1", "48600", INBOUND), T0)
    assert kinds(cmds) == ["SaveCall", "Answer", "Play"]
    assert cmds[2] == c.Play("call1", "sound:hello-world", "call1-prompt")
    assert state.phase == m.Phase.PROMPT and state.started_at == T0


def test_prompt_done_rings_caller_and_originates_agent_with_call_header() -> None:
    state, out = run(INBOUND, [PROMPT])
    assert kinds(out[1]) == ["StartRinging", "Originate"]
    orig = out[1][1]
    assert orig == c.Originate("call1-agent", "PJSIP/demo-1001", "agent,call1", "48600",
                               m.AGENT_RING_TIMEOUT_S, (("X-Centrala-Call-Id", "call1"),))


def test_answer_bridges_records_and_saves_answer_time() -> None:
    state, out = run(INBOUND, [PROMPT, ANSWER])
    assert kinds(out[2]) == ["StopRinging", "Answer", "CreateBridge", "AddToBridge",
                             "RecordBridge", "SaveCall"]
    assert out[2][3] == c.AddToBridge("call1-bridge", ("call1", "call1-agent"))
    assert state.answered_at == T0 + timedelta(seconds=2) and state.recording == "call1"


def test_first_hangup_fixes_end_time_and_cause() -> None:
    state, _ = run(INBOUND, [PROMPT, ANSWER, m.LegGone("caller", 17, "busy"), AGENT_GONE])
    assert state.ended_at == T0 + timedelta(seconds=3)
    assert (state.hangup_cause, state.hangup_cause_txt) == (17, "busy")


def test_duplicate_hangups_are_ignored() -> None:
    state, out = run(INBOUND, [PROMPT, ANSWER, CALLER_GONE, CALLER_GONE, AGENT_GONE, AGENT_GONE])
    assert out[4] == [] and out[6] == []
    assert state.phase == m.Phase.ENDED


def test_late_answer_after_caller_left_is_hung_up() -> None:
    state, out = run(INBOUND, [PROMPT, CALLER_GONE, ANSWER])
    assert out[3] == [c.Hangup("call1-agent")]


def test_foreign_playback_is_ignored() -> None:
    state, out = run(INBOUND, [m.PromptDone("other-prompt")])
    assert out[1] == [] and state.phase == m.Phase.PROMPT


# ---- queued calls (IVR → queue → offers to agents) ----

IVR_DID = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
QUEUE = m.IvrFinished("queued:sales", queue="sales", priority=5, skills=("pl",))


def test_ivr_into_queue_starts_moh_and_enqueues() -> None:
    state, out = run(IVR_DID, [QUEUE])
    assert kinds(out[0]) == ["SaveCall", "Answer", "StartIvr"]
    assert kinds(out[1]) == ["SaveCall", "StartMoh", "Enqueue"]
    assert out[1][2] == m.Enqueue("call1", "sales", 5, ("pl",))
    assert state.phase == m.Phase.QUEUED


def test_failed_offer_is_reported_and_the_next_uses_a_new_leg() -> None:
    offer1 = m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15)
    offer2 = m.OfferAgent("demo-1002", "PJSIP/demo-1002", 15)
    state, out = run(IVR_DID, [QUEUE, offer1, m.LegGone("agent", 19, "no answer", channel="call1-agent"),
                               offer2])
    assert out[2][1].channel_id == "call1-agent"
    assert out[3] == [m.QueueNotify("call1", "failed", "demo-1001", 19)]
    assert out[4][1].channel_id == "call1-agent1" and state.agent_endpoint == "demo-1002"
    # a late event about the first leg changes nothing
    state2, late = m.step(state, m.LegGone("agent", 16, "x", channel="call1-agent"), T0)
    assert late == [] and state2 == state


def test_answered_offer_bridges_notifies_and_records_on_request() -> None:
    offer = m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15)
    state, out = run(IVR_DID, [QUEUE, offer, ANSWER, m.Connected(record=True)])
    assert kinds(out[3]) == ["StopMoh", "CreateBridge", "AddToBridge", "SaveCall", "QueueNotify"]
    assert out[3][-1] == m.QueueNotify("call1", "answered", "demo-1001")
    assert kinds(out[4]) == ["RecordBridge", "SaveCall"] and state.recording == "call1"
    state, out = run(IVR_DID, [QUEUE, offer, ANSWER, m.Connected(record=False), CALLER_GONE])
    assert state.recording is None
    assert m.QueueNotify("call1", "ended", "demo-1001") in out[-1]


def test_caller_leaving_the_queue_cancels_the_ringing_agent() -> None:
    offer = m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15)
    state, out = run(IVR_DID, [QUEUE, offer, CALLER_GONE])
    assert out[3][0] == m.QueueNotify("call1", "caller_left", "demo-1001")
    assert c.Hangup("call1-agent") in out[3]
    assert state.phase == m.Phase.ENDING and state.hangup_by == "caller"


def test_queue_gives_up_hangs_up_as_system() -> None:
    state, out = run(IVR_DID, [QUEUE, m.LeaveQueue("max_wait")])
    assert kinds(out[2]) == ["StopMoh", "Hangup"] and state.hangup_by == "system"


def test_agent_channel_ids_round_trip() -> None:
    assert m.call_of_agent_channel("x.1-agent") == "x.1"
    assert m.call_of_agent_channel("x.1-agent12") == "x.1"
    assert m.call_of_agent_channel("x.1") is None
    assert m.call_of_agent_channel("x.1-agentx") is None


def test_cancelled_offer_hangs_up_and_ignores_its_late_events() -> None:
    offer1 = m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15)
    offer2 = m.OfferAgent("demo-1002", "PJSIP/demo-1002", 15)
    state, out = run(IVR_DID, [QUEUE, offer1, m.CancelOffer("timeout"),
                               m.LegGone("agent", 16, "x", channel="call1-agent"), offer2,
                               m.AgentAnswered("call1-agent")])
    assert out[3] == [c.Hangup("call1-agent", "normal")]
    assert out[4] == []  # the cancelled leg's hang-up is not a failed offer
    assert out[5][1].channel_id == "call1-agent1"
    assert out[6] == [c.Hangup("call1-agent", "normal")]  # the first phone answered too late
    assert state.phase == m.Phase.QUEUED and state.agent_dialed
    state, out = m.step(state, m.AgentAnswered("call1-agent1"), T0)
    assert state.phase == m.Phase.TALKING and state.agent_endpoint == "demo-1002"


def test_callback_leave_says_goodbye_then_hangs_up() -> None:
    offer = m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15)
    leave = m.LeaveQueue("callback_requested", "sound:auth-thankyou")
    state, out = run(IVR_DID, [QUEUE, offer, leave])
    assert kinds(out[3]) == ["StopMoh", "Hangup", "Play"]  # the ringing agent leg, then goodbye
    assert out[3][1] == c.Hangup("call1-agent")
    assert out[3][2] == c.Play("call1", "sound:auth-thankyou", "call1-prompt")
    assert state.phase == m.Phase.REJECTING and state.hangup_by == "system"
    state, cmds = m.step(state, m.PromptDone("call1-prompt"), T0)
    assert cmds == [c.Hangup("call1", "normal")] and state.phase == m.Phase.ENDING
    state, cmds = m.step(state, CALLER_GONE, T0)
    assert state.phase == m.Phase.ENDED and state.hangup_by == "system"


# ---- outbound failover: the route's next trunk when the way out is down ----

ROUTED = m.Binding(1, "outbound", "1001234", None, "lab", "demo-1003", "PJSIP/1001234@lab",
                   None, failover=("PJSIP/001001234@lab2", "PJSIP/1001234@lab3"))


def test_a_trunk_down_before_answer_dials_the_next_trunk_as_a_new_leg() -> None:
    down = m.LegGone("agent", 34, "Circuit/channel congestion", channel="call1-agent")
    state, out = run(ROUTED, [down])
    assert state.phase == m.Phase.DIALING and state.caller_alive
    assert (state.trunk, state.dial, state.attempt) == ("lab2", "PJSIP/001001234@lab2", 1)
    assert state.failover == ("PJSIP/1001234@lab3",)
    originate = [x for x in out[-1] if isinstance(x, c.Originate)]
    assert [(o.channel_id, o.endpoint) for o in originate] == [
        ("call1-agent1", "PJSIP/001001234@lab2")]
    assert kinds(out[-1])[0] == "SaveCall"  # the record names the new trunk before dialling
    # the first leg's late hang-up (its old channel) changes nothing
    late = m.LegGone("agent", 34, "Circuit/channel congestion", channel="call1-agent")
    again, cmds = m.step(state, late, T0 + timedelta(seconds=5))
    assert again == state and cmds == []
    # the second trunk times out too: the third; then answered: a normal call on lab3
    timeout = m.LegGone("agent", 102, "Recovery on timer expiry", channel="call1-agent1")
    state, cmds = m.step(state, timeout, T0 + timedelta(seconds=6))
    assert (state.trunk, state.attempt, state.failover) == ("lab3", 2, ())
    state, cmds = m.step(state, ANSWER, T0 + timedelta(seconds=7))
    assert state.phase == m.Phase.TALKING and state.trunk == "lab3"


@pytest.mark.parametrize(("cause", "why"), [(17, "busy"), (19, "no answer"), (1, "unallocated"),
                                            (21, "rejected")])
def test_the_person_or_the_number_failing_does_not_fail_over(cause: int, why: str) -> None:
    state, out = run(ROUTED, [m.LegGone("agent", cause, why, channel="call1-agent")])
    assert state.trunk == "lab" and state.attempt == 0 and state.hangup_cause == cause
    assert not any(isinstance(x, c.Originate) for x in out[-1])
    assert "Hangup" in kinds(out[-1])  # the caller is released


def test_no_trunk_left_ends_the_call_with_the_last_cause() -> None:
    one = m.Binding(1, "outbound", "1001234", None, "lab", "demo-1003", "PJSIP/1001234@lab",
                    None, failover=("PJSIP/1001234@lab2",))
    state, _ = run(one, [m.LegGone("agent", 34, "congestion", channel="call1-agent"),
                         m.LegGone("agent", 38, "network out of order", channel="call1-agent1")])
    assert state.hangup_cause == 38 and state.trunk == "lab2" and not state.failover
    assert not state.agent_dialed
