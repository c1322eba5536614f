"""The call machines' transition tables: the docstring's table is the code's, every pair
outside it is ignored, and no sequence of events takes a handler outside its row."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine as m
from controlplane.calls.machines import call, campaign

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
ROW = re.compile(r"^    ([A-Z]\w+)\s+(\(new\)|\*|[A-Z|]+)\s+→ ([A-Z=|]+)(?:\s|$)", re.M)
EVENTS: dict[str, type[Any]] = {
    t.__name__: t for t in (*call.TRANSITIONS, *campaign.TRANSITIONS, m.Entered, cm.CampaignEntered)
}


def doc_table(module: ModuleType) -> tuple[dict[type[Any], dict[m.Phase, set[m.Phase]]], set[m.Phase]]:
    """The table in ``module``'s docstring: ``*`` is every phase without a row of its own
    for that event, ``=`` the phase the row comes from; ``(new)`` rows are ``start``'s."""
    rows = ROW.findall(module.__doc__ or "")
    assert rows, f"no table in {module.__name__}"
    table: dict[type[Any], dict[m.Phase, set[m.Phase]]] = {}
    starts: set[m.Phase] = set()
    named = {(e, p) for e, froms, _ in rows if froms not in ("*", "(new)")
             for p in froms.split("|")}
    for event, froms, tos in rows:
        if froms == "(new)":
            starts |= {m.Phase[t] for t in tos.split("|")}
            continue
        phases = ([p for p in m.Phase if (event, p.name) not in named] if froms == "*"
                  else [m.Phase[f] for f in froms.split("|")])
        for p in phases:
            to = {p if t == "=" else m.Phase[t] for t in tos.split("|")}
            table.setdefault(EVENTS[event], {}).setdefault(p, set()).update(to)
    return table, starts


@pytest.mark.parametrize("module", [call, campaign])
def test_the_docstring_table_is_the_code_table(module: ModuleType) -> None:
    table, starts = doc_table(module)
    assert table == {e: {p: set(to) for p, to in rows.items()}
                     for e, rows in module.TRANSITIONS.items()}
    assert starts == set(module.STARTS)


def test_a_drifted_row_is_caught() -> None:
    """The comparison can fail: one changed phase in the text is a different table."""
    doc = call.__doc__ or ""
    drifted = ModuleType("drifted", doc.replace("OfferAgent       QUEUED        → QUEUED",
                                                "OfferAgent       QUEUED        → TALKING"))
    assert doc_table(drifted)[0] != doc_table(call)[0]


def test_an_event_outside_the_table_is_ignored() -> None:
    state, _ = m.start(m.Entered("c", "1", m.Binding(1, "inbound", "9", "9", "t", "p",
                                                     "PJSIP/p", "sound:x")), T0)
    assert state.phase == m.Phase.PROMPT and not m.accepts(m.Phase.PROMPT, m.OfferAgent)
    assert m.step(state, m.OfferAgent("demo-1", "PJSIP/demo-1", 5), T0) == (state, [])
    assert m.step(state, m.Connected(record=True), T0) == (state, [])
    with pytest.raises(TypeError):
        m.step(state, object(), T0)  # type: ignore[arg-type]


# ---- no sequence of events takes a handler outside the table ----

BINDINGS = [
    m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001", "sound:hi"),
    m.Binding(1, "inbound", "4822", "4822", "lab", "demo-1001", "PJSIP/demo-1001", None),
    m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True),
    m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, queue="sales"),
    m.Binding(1, "outbound", "100", None, "lab", "demo-1003", "PJSIP/100@lab", None),
    m.Binding(1, "outbound", "100", None, "lab", "demo-1003", None, "sound:no", refused="cap"),
    m.Binding(None, "inbound", "9", "9", None, None, None, None),
]
PLAN = cm.CampaignPlan("a1", "PJSIP/100@lab", 20, "q", "sound:sorry")
LEGS = ["c-agent", "c-agent1", "c-agent2", None]
EVENT = st.one_of(
    st.builds(m.PromptDone, st.sampled_from(["c-prompt", "other"])),
    st.builds(m.AgentAnswered, st.sampled_from(LEGS)),
    st.builds(m.LegGone, st.sampled_from(["caller", "agent"]), st.just(16), st.just("x"),
              st.booleans(), st.sampled_from(LEGS)),
    st.builds(m.IvrFinished, st.just("x"), st.sampled_from([None, "PJSIP/demo-1002"]),
              queue=st.sampled_from([None, "sales"]),
              refused=st.sampled_from([None, "cap"])),
    st.builds(m.OfferAgent, st.sampled_from(["demo-1", "demo-2", "demo-3"]),
              st.just("PJSIP/x"), st.just(15)),
    st.builds(m.Connected, st.booleans()),
    st.builds(m.LeaveQueue, st.just("max_wait"), st.sampled_from([None, "sound:bye"])),
    st.builds(m.CancelOffer, st.just("timeout"), st.sampled_from([None, "demo-1", "demo-2"])),
    st.builds(m.EnterQueue, st.just("q"), st.just(T0 + timedelta(seconds=6)),
              st.just("sound:sorry")),
    st.just(m.ConnectDeadline()),
    st.builds(m.TransferToQueue, st.sampled_from(["sales", "support"]), st.just("agent 7"),
              agent=st.sampled_from([None, "7"])),
    st.builds(m.TransferToNumber, st.just("PJSIP/48600@lab"), st.just("48600"),
              st.just("agent 7"), failover=st.sampled_from([(), ("PJSIP/48600@lab2",)])),
    st.just(cm.CustomerAnswered()),
    st.builds(cm.AmdDecided, st.booleans(), st.just(T0 + timedelta(seconds=3))),
)


@settings(max_examples=400, deadline=None)
@given(start=st.integers(0, len(BINDINGS)), events=st.lists(EVENT, max_size=12))
def test_no_event_sequence_leaves_the_table(start: int, events: list[Any]) -> None:
    if start == len(BINDINGS):
        state, _ = cm.start(cm.CampaignEntered(
            "c", "48", m.Binding(1, "campaign", "100", None, "lab", None, None, None), PLAN), T0)
    else:
        state, _ = m.start(m.Entered("c", "48", BINDINGS[start]), T0)
    for i, event in enumerate(events, 1):
        # campaign.step also runs every call event through call.step; both assert the table
        state, _ = cm.step(state, PLAN, event, T0 + timedelta(seconds=i))
        answered = state.platform_answered_at
        assert answered is None or answered <= T0 + timedelta(seconds=i)


def test_every_pair_in_the_table_has_a_handler() -> None:
    for event, rows in call.TRANSITIONS.items():
        for phase in rows:
            assert callable(call.handler(event, phase)), (event, phase)
    assert {e for e, _ in call.HANDLERS} == set(call.TRANSITIONS)
    assert all(p is None or p in call.TRANSITIONS[e] for e, p in call.HANDLERS)
