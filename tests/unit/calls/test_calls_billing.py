"""Answer times and billable seconds, per direction: the carrier bills from the first
answer of its leg, whoever gave it; the agent's answer and talk time stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine as m

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
CALLER_GONE = m.LegGone("caller", 16, "Normal Clearing")
AGENT_GONE = m.LegGone("agent", 16, "Normal Clearing")


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def run(binding: m.Binding, *events: tuple[float, object]) -> m.CallState:
    state, _ = m.start(m.Entered("call1", "48600", binding), T0)
    for t, event in events:
        state, _ = m.step(state, event, at(t))  # type: ignore[arg-type]
    return state


def test_an_ivr_that_only_plays_a_prompt_is_billed_from_the_platforms_answer() -> None:
    ivr = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
    state, cmds = m.start(m.Entered("call1", "48600", ivr), T0)
    assert state.platform_answered_at == T0 and isinstance(cmds[0], m.SaveCall)
    assert cmds[0].state.platform_answered_at == T0  # saved with the entry record
    state = run(ivr, (4.0, m.IvrFinished("hangup")), (4.2, CALLER_GONE))
    assert state.phase == m.Phase.ENDED and state.answered_at is None  # no agent, ever
    assert m.carrier_answered_at(state) == T0
    assert m.carrier_billsec(state) == 4.2


def test_a_prompt_then_an_agent_keeps_both_answers() -> None:
    prompt = m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001",
                       "sound:hello")
    state = run(prompt, (3.0, m.PromptDone("call1-prompt")), (5.0, m.AgentAnswered()),
                (12.0, CALLER_GONE), (12.1, AGENT_GONE))
    assert (state.platform_answered_at, state.answered_at) == (T0, at(5))
    assert m.carrier_billsec(state) == 12.0  # the carrier: the prompt and the ringing too


def test_a_queued_call_answered_by_an_agent_keeps_both_answers() -> None:
    ivr = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
    state = run(ivr, (2.0, m.IvrFinished("queued", queue="sales")),
                (3.0, m.OfferAgent("demo-1", "PJSIP/demo-1", 15)), (6.0, m.AgentAnswered()),
                (20.0, AGENT_GONE), (20.1, CALLER_GONE))
    assert (state.platform_answered_at, state.answered_at) == (T0, at(6))
    assert m.carrier_billsec(state) == 20.0


def test_inbound_straight_to_a_phone_is_answered_when_the_phone_answers() -> None:
    direct = m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001",
                       None)
    ringing = run(direct)
    assert ringing.phase == m.Phase.DIALING and ringing.platform_answered_at is None
    state = run(direct, (4.0, m.AgentAnswered()), (10.0, CALLER_GONE), (10.1, AGENT_GONE))
    assert state.platform_answered_at == state.answered_at == at(4)
    assert m.carrier_billsec(state) == 6.0


def test_an_unanswered_inbound_call_bills_nothing() -> None:
    direct = m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001",
                       None)
    state = run(direct, (30.0, m.LegGone("agent", 19, "No answer")), (30.1, CALLER_GONE))
    assert state.platform_answered_at is None and m.carrier_billsec(state) == 0.0


def test_outbound_is_billed_from_the_called_numbers_answer() -> None:
    out = m.Binding(1, "outbound", "1001234", None, "lab", "demo-1003", "PJSIP/1001234@lab",
                    None)
    state = run(out, (6.0, m.AgentAnswered()), (15.0, CALLER_GONE), (15.1, AGENT_GONE))
    assert state.platform_answered_at == state.answered_at == at(6)
    assert m.carrier_answered_at(state) == at(6) and m.carrier_billsec(state) == 9.0


def test_a_refused_outbound_call_reaches_no_carrier() -> None:
    refused = m.Binding(1, "outbound", "0048999", None, "lab", "demo-1003", None,
                        "sound:refused", refused="premium")
    state = run(refused, (3.0, m.PromptDone("call1-prompt")), (3.1, CALLER_GONE))
    assert state.platform_answered_at == T0  # the phone was answered to hear why
    assert m.carrier_answered_at(state) is None and m.carrier_billsec(state) == 0.0


def test_an_internal_call_has_no_carrier() -> None:
    internal = m.Binding(1, "internal", "1002", None, None, "demo-1001", "PJSIP/demo-1002",
                         None)
    state = run(internal, (2.0, m.AgentAnswered()), (8.0, CALLER_GONE), (8.1, AGENT_GONE))
    assert state.platform_answered_at == state.answered_at == at(2)
    assert m.carrier_billsec(state) == 0.0


def test_a_campaign_call_is_billed_from_the_customers_answer() -> None:
    plan = cm.CampaignPlan("a1", "PJSIP/100@lab", 20, "q", "sound:sorry")
    binding = m.Binding(1, "campaign", "100", None, "lab", None, None, None)
    state, _ = cm.start(cm.CampaignEntered("campaign-a1", "48", binding, plan), T0)
    for t, event in ((5.0, cm.CustomerAnswered()), (7.0, cm.AmdDecided(True, at(6.5))),
                     (7.5, m.OfferAgent("demo-1", "PJSIP/demo-1", 10)),
                     (8.0, m.AgentAnswered()), (30.0, CALLER_GONE), (30.1, AGENT_GONE)):
        state, _ = cm.step(state, plan, event, at(t))  # type: ignore[arg-type]
    assert (state.platform_answered_at, state.answered_at) == (at(5), at(8))  # in time
    assert m.carrier_billsec(state) == 25.0


def test_a_campaign_call_to_a_machine_is_billed_though_no_agent_joined() -> None:
    plan = cm.CampaignPlan("a1", "PJSIP/100@lab", 20, "q", "sound:sorry")
    binding = m.Binding(1, "campaign", "100", None, "lab", None, None, None)
    state, _ = cm.start(cm.CampaignEntered("campaign-a1", "48", binding, plan), T0)
    state, _ = cm.step(state, plan, cm.CustomerAnswered(), at(5))
    state, _ = cm.step(state, plan, cm.AmdDecided(False, at(8), "LONGGREETING"), at(8))
    state, _ = cm.step(state, plan, CALLER_GONE, at(8.3))
    assert state.answered_at is None and m.carrier_billsec(state) == 3.0  # ended at the verdict
    unanswered, _ = cm.start(cm.CampaignEntered("campaign-a2", "48", binding, plan), T0)
    unanswered, _ = cm.step(unanswered, plan, m.LegGone("caller", 19, "No answer"), at(20))
    assert unanswered.platform_answered_at is None and m.carrier_billsec(unanswered) == 0.0


def test_billing_waits_for_the_end() -> None:
    ivr = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
    assert m.carrier_billsec(run(ivr)) is None
