"""A blind transfer to a queue in the call machine: the talking caller goes back to waiting
in another queue; the first agent's leg is let go (its hang-up is no longer the call's), the
first answer time stays the call's, and the next part is recorded under its own name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controlplane.calls import machine as m
from controlplane.calls import records
from controlplane.engine import commands as c
from controlplane.models import CallRecord

T0 = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
IVR_DID = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)


def show(cmd: object) -> str:
    match cmd:
        case c.Hangup(channel_id=ch):
            return f"Hangup {ch}"
        case c.RecordBridge(name=name):
            return f"RecordBridge {name}"
        case m.QueueNotify(what=what, agent_endpoint=ep):
            return f"QueueNotify {what} {ep}"
        case m.Enqueue(queue=q):
            return f"Enqueue {q}"
        case c.Originate(channel_id=ch):
            return f"Originate {ch}"
        case _:
            return type(cmd).__name__


def run(state: m.CallState, event: object, at: datetime) -> tuple[m.CallState, list[str]]:
    state, cmds = m.step(state, event, at)  # type: ignore[arg-type]
    return state, [show(x) for x in cmds]


def talking() -> m.CallState:
    state, _ = m.start(m.Entered("call1", "48600", IVR_DID), T0)
    state, _ = m.step(state, m.IvrFinished("queued:sales", queue="sales"), T0)
    state, _ = m.step(state, m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15), T0)
    state, _ = m.step(state, m.AgentAnswered("call1-agent"), T0 + timedelta(seconds=5))
    state, _ = m.step(state, m.Connected(record=True), T0 + timedelta(seconds=5))
    return state


def test_a_talking_call_goes_to_another_queue_and_a_second_agent() -> None:
    state = talking()
    assert state.recording == "call1"
    state, cmds = run(state, m.TransferToQueue("billing", by="agent"), T0 + timedelta(seconds=60))
    assert cmds == ["QueueNotify ended demo-1001", "Hangup call1-agent", "DestroyBridge",
                    "SaveCall", "StartMoh", "Enqueue billing"]
    assert (state.phase, state.queue, state.transfers) == (m.Phase.QUEUED, "billing", 1)
    # the first agent's leg hanging up is not the call's business any more
    state, cmds = run(state, m.LegGone("agent", 16, "x", channel="call1-agent"),
                      T0 + timedelta(seconds=61))
    assert cmds == [] and state.phase == m.Phase.QUEUED and state.caller_alive
    state, cmds = run(state, m.OfferAgent("demo-1002", "PJSIP/demo-1002", 15),
                      T0 + timedelta(seconds=62))
    assert cmds == ["SaveCall", "Originate call1-agent1"]
    state, cmds = run(state, m.AgentAnswered("call1-agent1"), T0 + timedelta(seconds=70))
    assert "QueueNotify answered demo-1002" in cmds
    assert state.answered_at == T0 + timedelta(seconds=5)  # the call's first answer
    assert state.agent_endpoint == "demo-1002"
    state, cmds = run(state, m.Connected(record=True), T0 + timedelta(seconds=70))
    assert cmds == ["RecordBridge call1-t1", "SaveCall"]  # the second part, its own name
    state, cmds = run(state, m.LegGone("caller", 16, "Normal Clearing"),
                      T0 + timedelta(seconds=90))
    assert "QueueNotify ended demo-1002" in cmds and "Hangup call1-agent1" in cmds


def test_the_caller_leaving_while_transferred_leaves_the_new_queue() -> None:
    state, _ = m.step(talking(), m.TransferToQueue("billing", by="agent"), T0 + timedelta(60))
    state, cmds = run(state, m.LegGone("caller", 16, "Normal Clearing"),
                      T0 + timedelta(seconds=65))
    assert cmds[0].startswith("QueueNotify caller_left")
    assert state.phase in (m.Phase.ENDED, m.Phase.ENDING)


def test_only_a_talking_call_is_transferred() -> None:
    state, _ = m.start(m.Entered("call1", "48600", IVR_DID), T0)
    state, _ = m.step(state, m.IvrFinished("queued:sales", queue="sales"), T0)
    new, cmds = m.step(state, m.TransferToQueue("billing", by="agent"), T0)
    assert (new, cmds) == (state, [])  # still waiting: nothing to transfer


def test_a_transfer_to_an_agent_names_them_to_the_queue() -> None:
    state, cmds = m.step(talking(), m.TransferToQueue("sales", by="agent", agent="12"),
                         T0 + timedelta(seconds=30))
    enqueue = [x for x in cmds if isinstance(x, m.Enqueue)]
    assert [(e.queue, e.direct_agent) for e in enqueue] == [("sales", "12")]
    assert state.phase == m.Phase.QUEUED


NUMBER = m.TransferToNumber("PJSIP/48500@lab", "48500", by="agent")


def test_a_number_answers_and_the_caller_talks_to_it() -> None:
    state, cmds = run(talking(), NUMBER, T0 + timedelta(seconds=60))
    assert cmds == ["QueueNotify ended demo-1001", "Hangup call1-agent", "DestroyBridge",
                    "SaveCall", "StartRinging", "Originate call1-agent1"]
    assert (state.phase, state.fallback_queue, state.callee) == (m.Phase.DIALING, "sales",
                                                                 "48500")
    # the first agent's hang-up is no longer the call's
    state, cmds = run(state, m.LegGone("agent", 16, "x", channel="call1-agent"),
                      T0 + timedelta(seconds=61))
    assert cmds == [] and state.phase == m.Phase.DIALING
    state, cmds = run(state, m.AgentAnswered("call1-agent1"), T0 + timedelta(seconds=70))
    assert state.phase == m.Phase.TALKING and "RecordBridge call1-t1" in cmds
    assert state.answered_at == T0 + timedelta(seconds=5)  # the call's first answer
    # the number hangs up: the call ends; no second "ended" to the queue (no agent of it)
    state, cmds = run(state, m.LegGone("agent", 16, "x", channel="call1-agent1"),
                      T0 + timedelta(seconds=90))
    assert not any(x.startswith("QueueNotify") for x in cmds)
    assert "Hangup call1" in cmds and state.phase == m.Phase.ENDING


def test_a_number_that_does_not_answer_sends_the_caller_back_to_the_queue() -> None:
    state, _ = m.step(talking(), NUMBER, T0 + timedelta(seconds=60))
    state, cmds = run(state, m.LegGone("agent", 19, "No Answer", channel="call1-agent1"),
                      T0 + timedelta(seconds=90))
    assert cmds == ["StopRinging", "SaveCall", "StartMoh", "Enqueue sales"]
    assert (state.phase, state.caller_alive, state.ended_at) == (m.Phase.QUEUED, True, None)
    # and the queue offers it to an agent again
    state, cmds = run(state, m.OfferAgent("demo-1002", "PJSIP/demo-1002", 15),
                      T0 + timedelta(seconds=91))
    assert cmds == ["SaveCall", "Originate call1-agent2"]


def test_a_call_that_never_queued_is_released_when_the_number_does_not_answer() -> None:
    did = m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001", None)
    state, _ = m.start(m.Entered("call2", "48600", did), T0)
    state, _ = m.step(state, m.AgentAnswered("call2-agent"), T0 + timedelta(seconds=3))
    state, cmds = run(state, m.TransferToNumber("PJSIP/48500@lab", "48500", by="agent"),
                      T0 + timedelta(seconds=20))
    assert cmds[0] == "Hangup call2-agent" and "Originate call2-agent1" in cmds
    state, cmds = run(state, m.LegGone("agent", 17, "Busy", channel="call2-agent1"),
                      T0 + timedelta(seconds=25))
    assert "Hangup call2" in cmds and state.phase == m.Phase.ENDING


# ---- attended transfer: consult, then complete or cancel ----

CONSULT = m.StartConsult("PJSIP/demo-1002", "Bea", by="agent", agent_endpoint="demo-1002")


def consulting(answered: bool = True) -> m.CallState:
    state, cmds = run(talking(), CONSULT, T0 + timedelta(seconds=30))
    assert cmds == ["RemoveFromBridge", "StartMoh", "SaveCall", "Originate call1-agent1"]
    if answered:
        state, cmds = run(state, m.AgentAnswered("call1-agent1"), T0 + timedelta(seconds=34))
        assert cmds == ["AddToBridge", "SaveCall"]
    return state


def test_complete_hands_the_caller_to_the_consulted_colleague() -> None:
    state = consulting()
    assert state.consult is not None and state.consult.answered
    state, cmds = run(state, m.CompleteConsult(by="agent"), T0 + timedelta(seconds=50))
    assert cmds == ["QueueNotify ended demo-1001", "Hangup call1-agent", "StopMoh",
                    "AddToBridge", "SaveCall"]
    assert (state.agent_endpoint, state.agent_channel, state.consult) == (
        "demo-1002", "call1-agent1", None)
    # the first agent's leg going is no longer the call's; the colleague's is
    state, cmds = run(state, m.LegGone("agent", 16, "x", channel="call1-agent"),
                      T0 + timedelta(seconds=51))
    assert cmds == [] and state.phase == m.Phase.TALKING
    state, cmds = run(state, m.LegGone("agent", 16, "x", channel="call1-agent1"),
                      T0 + timedelta(seconds=80))
    assert "Hangup call1" in cmds and state.phase == m.Phase.ENDING


def test_cancel_and_an_unanswered_consultation_bring_the_agent_back() -> None:
    state, cmds = run(consulting(), m.CancelConsult(by="agent"), T0 + timedelta(seconds=50))
    assert cmds == ["Hangup call1-agent1", "StopMoh", "AddToBridge", "SaveCall"]
    assert state.consult is None and state.agent_channel == "call1-agent"
    # a second consultation gets a new leg; this one does not answer (busy)
    state, cmds = run(state, CONSULT, T0 + timedelta(seconds=60))
    assert cmds[-1] == "Originate call1-agent2"
    state, cmds = run(state, m.LegGone("agent", 17, "Busy", channel="call1-agent2"),
                      T0 + timedelta(seconds=62))
    assert cmds == ["StopMoh", "AddToBridge", "SaveCall"]
    assert state.phase == m.Phase.TALKING and state.agent_alive and state.consult is None


def test_the_agent_hanging_up_during_an_answered_consultation_hands_over() -> None:
    state, cmds = run(consulting(), m.LegGone("agent", 16, "x", channel="call1-agent"),
                      T0 + timedelta(seconds=50))
    assert cmds == ["QueueNotify ended demo-1001", "StopMoh", "AddToBridge", "SaveCall"]
    assert state.agent_channel == "call1-agent1" and state.phase == m.Phase.TALKING


def test_the_caller_leaving_during_a_consultation_ends_the_consult_leg_too() -> None:
    state, cmds = run(consulting(answered=False), m.LegGone("caller", 16, "x"),
                      T0 + timedelta(seconds=40))
    assert "Hangup call1-agent1" in cmds and "Hangup call1-agent" in cmds


def test_complete_waits_for_an_answer_and_offers_never_reuse_a_consult_leg() -> None:
    state = consulting(answered=False)
    assert m.step(state, m.CompleteConsult(by="agent"), T0 + timedelta(seconds=40)) == (state, [])
    state, _ = m.step(state, m.CancelConsult(by="agent"), T0 + timedelta(seconds=41))
    state, _ = m.step(state, m.TransferToQueue("billing", by="agent"), T0 + timedelta(seconds=42))
    state, cmds = run(state, m.OfferAgent("demo-1003", "PJSIP/demo-1003", 15),
                      T0 + timedelta(seconds=43))
    assert cmds == ["SaveCall", "Originate call1-agent2"]  # agent1 was the consultation's


# ---- what the carrier bills for the numbers a call is sent on to ----

def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_a_number_reached_by_a_blind_transfer_is_billed_from_its_answer_to_the_end() -> None:
    state, _ = m.step(talking(), m.TransferToNumber("PJSIP/48400@lab", "48400", by="agent"),
                      at(40))
    state, _ = m.step(state, m.LegGone("agent", 17, "Busy", channel="call1-agent1"), at(45))
    assert state.phase == m.Phase.QUEUED and state.number_answered_at is None  # busy: 0 s
    state, _ = m.step(state, m.OfferAgent("demo-1001", "PJSIP/demo-1001", 15), at(46))
    state, _ = m.step(state, m.AgentAnswered("call1-agent2"), at(50))
    assert state.number_answered_at is None  # an agent's phone: no carrier
    state, _ = m.step(state, NUMBER, at(60))
    state, _ = m.step(state, m.AgentAnswered("call1-agent3"), at(70))
    assert state.number_answered_at == at(70)
    assert m.transfer_carrier_billsec(state) == 0.0  # running: no leg has ended yet
    state, _ = m.step(state, m.LegGone("caller", 16, "Normal Clearing"), at(100.5))
    assert m.transfer_carrier_billsec(state) == 30.5
    assert m.carrier_billsec(state) == 100.5  # the caller's leg, from the IVR's answer


def test_consulted_numbers_are_billed_while_up_a_completed_one_until_the_end() -> None:
    consult_number = m.StartConsult("PJSIP/48500@lab", "48500", by="agent")
    state, _ = m.step(talking(), consult_number, at(30))
    state, _ = m.step(state, m.AgentAnswered("call1-agent1"), at(34))
    assert state.number_answered_at == at(34)
    state, _ = m.step(state, m.CancelConsult(by="agent"), at(50))
    assert (state.number_answered_at, state.number_billsec) == (None, 16.0)
    # a colleague's phone costs nothing; a second number hangs up by itself
    state, _ = m.step(state, CONSULT, at(52))
    state, _ = m.step(state, m.AgentAnswered("call1-agent2"), at(53))
    state, _ = m.step(state, m.CancelConsult(by="agent"), at(55))
    assert state.number_billsec == 16.0
    state, _ = m.step(state, consult_number, at(56))
    state, _ = m.step(state, m.AgentAnswered("call1-agent3"), at(58))
    state, _ = m.step(state, m.LegGone("agent", 16, "x", channel="call1-agent3"), at(61))
    assert (state.number_answered_at, state.number_billsec) == (None, 19.0)
    # the third is handed the caller: billed until the call ends
    state, _ = m.step(state, consult_number, at(62))
    state, _ = m.step(state, m.AgentAnswered("call1-agent4"), at(64))
    state, _ = m.step(state, m.CompleteConsult(by="agent"), at(70))
    assert state.number_answered_at == at(64) and state.agent_endpoint is None
    state, _ = m.step(state, m.LegGone("agent", 16, "x", channel="call1-agent4"), at(94))
    assert state.ended_at == at(94) and m.transfer_carrier_billsec(state) == 19.0 + 30.0


def test_a_restarted_control_plane_keeps_metering_the_number_leg() -> None:
    """The record holds the ended legs and the answer of the one up; the rebuilt state
    bills on from there."""
    state, _ = m.step(talking(), m.StartConsult("PJSIP/48500@lab", "48500", by="agent"), at(30))
    state, _ = m.step(state, m.AgentAnswered("call1-agent1"), at(34))
    state, _ = m.step(state, m.CancelConsult(by="agent"), at(44))
    state, _ = m.step(state, NUMBER, at(50))
    state, _ = m.step(state, m.AgentAnswered("call1-agent2"), at(55))
    row = records._row(state, Path("/rec"))
    assert (row["transfer_carrier_billsec_s"], row["transfer_answered_at"]) == (10.0, at(55))
    back = records.state_from_record(CallRecord(**row))
    assert (back.number_billsec, back.number_answered_at) == (10.0, at(55))
    back, _ = m.step(back, m.LegGone("caller", 16, "Normal Clearing"), at(75))
    assert m.transfer_carrier_billsec(back) == 30.0
