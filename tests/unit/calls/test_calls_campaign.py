"""Campaign calls in the pure machines: dial, AMD, queue with a connect deadline, abandon.

Also the dialer seam's pure parts: PlaceCall validation and the outcome classification.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine as m
from controlplane.dialer.live import AttemptResult, InvalidPlaceCall, PlaceCall, classify
from controlplane.engine import commands as c

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
CALL = "campaign-a1"
PLAN = cm.CampaignPlan("a1", "PJSIP/1001234@lab-carrier", 20, "campaign-test", "sound:sorry",
                       priority=3, skills=("pl",))
BINDING = m.Binding(1, "campaign", "1001234", None, "lab-carrier", None, None, None)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def kinds(cmds: list[object]) -> list[str]:
    return [type(x).__name__ for x in cmds]


def begin(plan: cm.CampaignPlan = PLAN) -> m.CallState:
    state, _ = cm.start(cm.CampaignEntered(CALL, "48221000001", BINDING, plan), T0)
    return state


def feed(state: m.CallState, *events: tuple[float, object],
         plan: cm.CampaignPlan = PLAN) -> tuple[m.CallState, list[list[object]]]:
    out = []
    for t, event in events:
        state, cmds = cm.step(state, plan, event, at(t))  # type: ignore[arg-type]
        out.append(cmds)
    return state, out


ANSWER = cm.CustomerAnswered()
HUMAN = cm.AmdDecided(True, at(3.0), "INITIALSILENCE")  # greeting over at T0 + 3 s
CUSTOMER_GONE = m.LegGone("caller", 16, "Normal Clearing")
OFFER = m.OfferAgent("demo-1004", "PJSIP/demo-1004", 10)


def test_start_saves_the_record_then_dials_the_customer_as_the_calls_own_channel() -> None:
    state, cmds = cm.start(cm.CampaignEntered(CALL, "48221000001", BINDING, PLAN), T0)
    assert kinds(cmds) == ["SaveCall", "DialCustomer"]
    assert cmds[1] == cm.DialCustomer(CALL, "PJSIP/1001234@lab-carrier", "campaign,a1",
                                      "48221000001", 20 + cm.RING_PAD_S)
    assert state.phase == m.Phase.RINGING and state.direction == "campaign"
    assert (state.caller, state.callee, state.trunk) == ("48221000001", "1001234", "lab-carrier")
    assert state.dial is None and state.agent_endpoint is None  # no agent leg yet


@pytest.mark.parametrize("cause", [17, 19, 1, 0])
def test_customer_leg_gone_before_answer_ends_the_call_with_its_cause(cause: int) -> None:
    state, out = feed(begin(), (5, m.LegGone("caller", cause, "x")))
    assert state.phase == m.Phase.ENDED and state.hangup_cause == cause
    assert state.hangup_by == "caller" and state.ended_at == at(5)
    assert kinds(out[-1]) == ["SaveCall"]  # nothing else to hang up


def test_answer_starts_amd_and_a_machine_is_hung_up_without_any_agent_leg() -> None:
    state, out = feed(begin(), (2, ANSWER))
    assert state.phase == m.Phase.AMD and kinds(out[0]) == ["SaveCall", "RunAmd"]
    state, out = feed(state, (5, cm.AmdDecided(False, at(5), "LONGGREETING")))
    assert state.phase == m.Phase.ENDING and state.hangup_by == "system"
    assert out[0][0] == c.Hangup(CALL, "normal")
    assert "LONGGREETING" in (state.hangup_cause_txt or "")
    # the queue could not offer it even if it tried, and nothing was ever enqueued
    state, out2 = feed(state, (5.1, OFFER), (5.2, CUSTOMER_GONE))
    assert state.phase == m.Phase.ENDED and state.queue is None
    everything = [x for cmds in out + out2 for x in cmds]
    assert not any(isinstance(x, c.Originate | m.Enqueue) for x in everything)


def test_a_person_goes_straight_into_the_queue_with_a_deadline_inside_two_seconds() -> None:
    state, out = feed(begin(), (2, ANSWER), (3.2, HUMAN))
    assert state.phase == m.Phase.QUEUED and state.queue == "campaign-test"
    assert kinds(out[1]) == ["SaveCall", "Enqueue", "ArmDeadline"]  # no hold music
    assert out[1][1] == m.Enqueue(CALL, "campaign-test", 3, ("pl",))
    deadline = out[1][2]
    assert isinstance(deadline, cm.ArmDeadline)
    assert deadline.at == state.connect_by == at(3.0 + cm.CONNECT_LIMIT_S - cm.WITHDRAW_MARGIN_S)
    assert deadline.at - HUMAN.greeting_end < timedelta(seconds=2)


def test_agent_answering_in_time_is_bridged_and_the_deadline_is_then_ignored() -> None:
    state, out = feed(begin(), (2, ANSWER), (3.1, HUMAN), (3.2, OFFER),
                      (4.0, m.AgentAnswered(f"{CALL}-agent")), (4.8, m.ConnectDeadline()))
    assert kinds(out[2]) == ["SaveCall", "Originate"]
    assert out[2][1].channel_id == f"{CALL}-agent"  # type: ignore[attr-defined]
    assert state.phase == m.Phase.TALKING and state.answered_at == at(4.0)
    assert "CreateBridge" in kinds(out[3]) and "QueueNotify" in kinds(out[3])
    assert out[4] == []


def test_no_agent_by_the_deadline_withdraws_the_offer_and_plays_the_abandon_message() -> None:
    state, out = feed(begin(), (2, ANSWER), (3.1, HUMAN), (3.2, OFFER),
                      (4.7, m.ConnectDeadline()))
    assert state.phase == m.Phase.ABANDONING
    assert kinds(out[-1]) == ["QueueNotify", "Hangup", "PlayAbandon", "SaveCall"]
    assert out[-1][0] == m.QueueNotify(CALL, "caller_left", "demo-1004")
    assert out[-1][1] == c.Hangup(f"{CALL}-agent", "normal")
    assert out[-1][2] == m.PlayAbandon(CALL, "sound:sorry", f"{CALL}-prompt")
    # the withdrawn agent answers anyway: hung up; the ring's end is ignored
    state, late = feed(state, (4.8, m.AgentAnswered(f"{CALL}-agent")),
                       (4.9, m.LegGone("agent", 16, "x", channel=f"{CALL}-agent")))
    assert late[0] == [c.Hangup(f"{CALL}-agent", "normal")] and late[1] == []
    # the message ends: the platform hangs up, then the leg is gone
    state, end = feed(state, (9.0, m.PromptDone(f"{CALL}-prompt")), (9.1, CUSTOMER_GONE))
    assert end[0] == [c.Hangup(CALL, "normal")]
    assert state.phase == m.Phase.ENDED and state.hangup_by == "system"
    assert state.ended_at == at(9.0) and state.answered_at is None


def test_an_agent_answering_after_the_deadline_is_not_connected() -> None:
    state, out = feed(begin(), (2, ANSWER), (3.1, HUMAN), (3.2, OFFER),
                      (4.75, m.AgentAnswered(f"{CALL}-agent")))  # the timer has not fired yet
    assert state.phase == m.Phase.ABANDONING and state.answered_at is None
    assert "PlayAbandon" in kinds(out[-1]) and "CreateBridge" not in kinds(out[-1])


def test_a_queue_giving_up_on_a_campaign_call_plays_the_message_too() -> None:
    state, out = feed(begin(), (2, ANSWER), (3.1, HUMAN), (3.3, m.LeaveQueue("no_agents")))
    assert state.phase == m.Phase.ABANDONING
    assert kinds(out[-1]) == ["QueueNotify", "PlayAbandon", "SaveCall"]


def test_customer_hanging_up_during_amd_or_the_message_ends_the_call() -> None:
    state, _ = feed(begin(), (2, ANSWER), (2.5, CUSTOMER_GONE), (3.0, HUMAN))
    assert state.phase == m.Phase.ENDED and state.queue is None and state.hangup_by == "caller"
    state, _ = feed(begin(), (2, ANSWER), (3.1, HUMAN), (4.7, m.ConnectDeadline()),
                    (5.0, CUSTOMER_GONE))
    assert state.phase == m.Phase.ENDED and state.hangup_by == "caller"


def test_without_amd_the_answer_stands_for_the_greeting_end() -> None:
    plan = cm.CampaignPlan("a1", PLAN.dial, 20, "campaign-test", "sound:sorry", amd=False)
    state, out = feed(begin(plan), (2, ANSWER), plan=plan)
    assert state.phase == m.Phase.QUEUED and "RunAmd" not in kinds(out[0])
    assert state.connect_by == at(2 + plan.connect_within_s)


def test_an_answer_or_verdict_out_of_phase_is_ignored() -> None:
    state = begin()
    assert feed(state, (1, HUMAN))[1] == [[]]  # a verdict before the answer
    state, _ = feed(state, (2, ANSWER), (3, HUMAN))
    assert feed(state, (4, ANSWER))[1] == [[]]  # a second StasisStart


def test_inbound_queue_leave_is_unchanged() -> None:
    state, _ = m.start(m.Entered("in1", "48600", m.Binding(1, "inbound", "4822", "4822", "lab",
                                                           None, None, None, ivr=True)), T0)
    state, _ = m.step(state, m.IvrFinished("q", queue="sales"), at(1))
    state, cmds = m.step(state, m.LeaveQueue("max_wait"), at(2))
    assert state.phase == m.Phase.ENDING and kinds(cmds) == ["StopMoh", "Hangup"]


# ---- the dialer seam ----

def place(**kw: object) -> PlaceCall:
    fields: dict[str, object] = dict(attempt_id="a1", tenant_id=1, number="1001234",
                                     trunk="lab-carrier", caller_id="48221000001",
                                     queue="campaign-test", abandon_prompt="sound:sorry")
    fields.update(kw)
    return PlaceCall(**fields)  # type: ignore[arg-type]


def test_place_call_derives_the_channel_id_and_the_trunk_dial_string() -> None:
    p = place(number="+1001234")
    assert p.call_id == "campaign-a1" and p.dial == "PJSIP/1001234@lab-carrier"


@pytest.mark.parametrize(("kw", "field"), [
    ({"ring_timeout_s": 14}, "ring_timeout_s"),
    ({"attempt_id": "x-agent2"}, "attempt_id"),
    ({"attempt_id": "a/b"}, "attempt_id"),
    ({"number": "12ab"}, "number"),
    ({"trunk": "lab@x"}, "trunk"),
    ({"abandon_prompt": " "}, "abandon_prompt"),
])
def test_place_call_refuses_bad_fields_naming_them(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidPlaceCall) as err:
        place(**kw)
    assert err.value.field == field and field in str(err.value)


def test_place_call_from_command_parses_and_names_missing_or_bad_fields() -> None:
    cmd = {"cmd": "dialer.place", "attempt_id": "a1", "tenant_id": "1", "number": "1001234",
           "trunk": "lab-carrier", "queue": "q", "abandon_prompt": "Sorry.", "amd": False,
           "ring_timeout_s": 18, "skills": ["pl"]}
    p = PlaceCall.from_command(cmd)
    assert (p.tenant_id, p.amd, p.ring_timeout_s, p.skills, p.caller_id) == (1, False, 18,
                                                                             ("pl",), "")
    with pytest.raises(InvalidPlaceCall, match="queue: missing"):
        PlaceCall.from_command({k: v for k, v in cmd.items() if k != "queue"})
    with pytest.raises(InvalidPlaceCall, match="amd"):
        PlaceCall.from_command({**cmd, "amd": "yes"})
    with pytest.raises(InvalidPlaceCall, match="ring_timeout_s"):
        PlaceCall.from_command({**cmd, "ring_timeout_s": 10})


@pytest.mark.parametrize(("answered", "cause", "rang", "amd", "abandoned", "outcome"), [
    (False, 17, 2.0, None, False, "busy"),
    (False, 19, 20.0, None, False, "no_answer"),
    (False, 18, 5.0, None, False, "no_answer"),
    (False, 21, 3.0, None, False, "no_answer"),
    (False, 16, 20.1, None, False, "no_answer"),  # our ring timeout, plain cause
    (False, 1, 0.5, None, False, "unallocated"),
    (False, 28, 0.5, None, False, "unallocated"),
    (False, 16, 3.0, None, False, "failed"),
    (False, 0, 0.0, None, False, "failed"),  # originate refused
    (True, 16, None, "MACHINE", False, "machine"),
    (True, 16, None, "HUMAN", False, "human"),
    (True, 16, None, "NOTSURE", False, "human"),
    (True, 16, None, None, False, "human"),  # AMD off
    (True, 16, None, "HUMAN", True, "abandoned"),
])
def test_outcome_classification(answered: bool, cause: int, rang: float | None,
                                amd: str | None, abandoned: bool, outcome: str) -> None:
    assert classify(answered=answered, cause=cause, rang_s=rang, ring_timeout_s=20,
                    amd_verdict=amd, abandoned=abandoned) == outcome


def test_attempt_result_round_trips_through_its_event_fields() -> None:
    r = AttemptResult("a1", CALL, 1, "1001234", "human", "HUMAN", "detector", "NOTSURE", 16,
                      "Normal Clearing", "caller", "demo-1004", at(0), at(2), at(3), at(3),
                      at(4), None, at(30))
    data = r.to_event()
    assert data["greeting_end_at"] == at(3).isoformat() and data["message_start_at"] is None
    assert AttemptResult.from_event(data) == r


def test_progress_survives_a_round_trip_through_json() -> None:
    from datetime import UTC, datetime

    from controlplane.calls import campaign_machine as cm
    from controlplane.calls.campaign_glue import _Progress, dump_progress, load_progress
    from controlplane.dialer.live import PlaceCall

    place = PlaceCall("a1", 1, "+1000001", "lab", "+48221000099", "q", "sound:x",
                      skills=("pl",))
    plan = cm.CampaignPlan("a1", "PJSIP/1000001@lab", 16, "q", "sound:x", skills=("pl",))
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    prog = _Progress(place, plan, dial_at=at, answer_at=at, amd_verdict="HUMAN",
                     amd_source="detector", app_amd=("HUMAN", "HUMAN-1", 1800), abandoned=True)
    assert load_progress(dump_progress(prog)) == prog
