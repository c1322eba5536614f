"""Business rules, pure: parsing names the wrong field, conditions match as documented,
and chains (hypothesis) always end, never deeper than the cap, each firing's changes are
in the final ticket, and a rule fires only when its conditions held."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.desk import rules
from controlplane.desk.rules import RuleInvalid, chain, parse


def test_parse_names_the_field_that_is_wrong() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"trigger": "sometimes"}, "trigger"),
        ({"conditions": [{"field": "colour", "op": "is", "value": 1}]}, "conditions/0/field"),
        ({"conditions": [{"field": "status", "op": "like", "value": "new"}]}, "conditions/0/op"),
        ({"conditions": [{"field": "status", "op": "is", "value": "lost"}]},
         "conditions/0/value"),
        ({"conditions": [{"field": "status", "op": "in", "value": ["new", "x"]}]},
         "conditions/0/value/1"),
        ({"conditions": [{"field": "priority", "op": "gte", "value": 3}]}, "conditions/0/op"),
        ({"actions": []}, "actions"),
        ({"actions": [{"set": "subject", "value": "x"}]}, "actions/0/set"),
        ({"actions": [{"set": "status", "value": None}]}, "actions/0/value"),
        ({"actions": [{"note": ""}]}, "actions/0/note"),
        ({"actions": [{"reply_template": True}]}, "actions/0/reply_template"),
        ({"actions": [{"explode": 1}]}, "actions/0"),
        ({"trigger": "time", "conditions": [{"field": "status", "op": "is", "value": "new"}]},
         "conditions"),
    ]
    for change, where in cases:
        doc: dict[str, Any] = {"trigger": "created", "conditions": [],
                               "actions": [{"set": "priority", "value": "high"}], **change}
        with pytest.raises(RuleInvalid) as err:
            parse(1, "r", doc["trigger"], doc["conditions"], doc["actions"])
        assert err.value.field == where, (change, err.value.message)
        assert err.value.status == 422 and err.value.details["field"] == where


def test_time_rule_examples() -> None:
    stale = parse(1, "48 h pending → solved", "time",
                  [{"field": "status", "op": "is", "value": "pending"},
                   {"field": "minutes_since_update", "op": "gte", "value": 48 * 60}],
                  [{"set": "status", "value": "solved"}])
    waiting = parse(2, "new, unassigned 30 min → high", "time",
                    [{"field": "status", "op": "is", "value": "new"},
                     {"field": "assignee_user_id", "op": "is", "value": None},
                     {"field": "minutes_since_created", "op": "gte", "value": 30}],
                    [{"set": "priority", "value": "high"}])
    base = {"status": "pending", "assignee_user_id": None, "priority": "normal",
            "minutes_since_update": 48 * 60 - 1, "minutes_since_created": 5000}
    assert chain([stale, waiting], "time", base).firings == []
    out = chain([stale, waiting], "time", {**base, "minutes_since_update": 48 * 60})
    assert [f.name for f in out.firings] == ["48 h pending → solved"]
    assert out.final["status"] == "solved"
    out = chain([stale, waiting], "time", {**base, "status": "new",
                                           "minutes_since_created": 30})
    assert out.final["priority"] == "high" and not out.capped


def test_chained_rules_and_the_loop_cap() -> None:
    urgent_vip = parse(1, "vip", "created",
                       [{"field": "requester", "op": "contains", "value": "@VIP.pl"}],
                       [{"set": "priority", "value": "urgent"}])
    urgent_queue = parse(2, "urgent → queue 7", "updated",
                         [{"field": "changed", "op": "contains", "value": "priority"},
                          {"field": "priority", "op": "is", "value": "urgent"}],
                         [{"set": "queue_id", "value": 7}, {"note": "pilne"}])
    out = chain([urgent_vip, urgent_queue], "created",
                {"requester": "prezes@vip.pl", "priority": "normal", "queue_id": None})
    assert [(f.name, f.depth) for f in out.firings] == [("vip", 0), ("urgent → queue 7", 1)]
    assert out.final["queue_id"] == 7
    up = parse(3, "up", "updated", [{"field": "priority", "op": "is", "value": "low"}],
               [{"set": "priority", "value": "high"}])
    down = parse(4, "down", "updated", [{"field": "priority", "op": "is", "value": "high"}],
                 [{"set": "priority", "value": "low"}])
    out = chain([up, down], "updated", {"priority": "low"}, changed=frozenset({"priority"}))
    assert out.capped and max(f.depth for f in out.firings) == rules.MAX_DEPTH


STATUSES = rules.VALUES["status"]
PRIORITIES = rules.VALUES["priority"]
conditions = st.one_of(
    st.builds(lambda v: {"field": "status", "op": "is", "value": v}, st.sampled_from(STATUSES)),
    st.builds(lambda v: {"field": "priority", "op": "is_not", "value": v},
              st.sampled_from(PRIORITIES)),
    st.builds(lambda v: {"field": "queue_id", "op": "in", "value": v},
              st.lists(st.integers(1, 3), min_size=1, max_size=3)),
    st.builds(lambda v: {"field": "changed", "op": "contains", "value": v},
              st.sampled_from(("status", "priority", "queue_id"))),
)
actions = st.one_of(
    st.builds(lambda v: {"set": "status", "value": v}, st.sampled_from(STATUSES)),
    st.builds(lambda v: {"set": "priority", "value": v}, st.sampled_from(PRIORITIES)),
    st.builds(lambda v: {"set": "queue_id", "value": v}, st.one_of(st.none(), st.integers(1, 3))),
    st.just({"note": "n"}),
)
rule_docs = st.lists(st.tuples(st.sampled_from(("created", "updated", "message")),
                               st.lists(conditions, max_size=3),
                               st.lists(actions, min_size=1, max_size=3)), max_size=6)
snapshots = st.fixed_dictionaries({"status": st.sampled_from(STATUSES),
                                   "priority": st.sampled_from(PRIORITIES),
                                   "queue_id": st.one_of(st.none(), st.integers(1, 3))})


@settings(max_examples=300, deadline=None)
@given(rule_docs, snapshots, st.sampled_from(("created", "updated", "message")),
       st.integers(0, 6))
def test_chains_end_within_the_cap_and_keep_what_they_did(docs: Any, snap: Any, trigger: str,
                                                           cap: int) -> None:
    parsed = [parse(i + 1, f"r{i}", t, c, a) for i, (t, c, a) in enumerate(docs)]
    out = chain(parsed, trigger, snap, max_depth=cap)
    assert all(0 <= f.depth <= cap for f in out.firings)
    # one rule fires at most once per depth: the chain is bounded by rules × depths
    assert len(out.firings) <= len(parsed) * (cap + 1)
    by_id = {r.id: r for r in parsed}
    for f in out.firings:
        assert by_id[f.rule_id].trigger == (trigger if f.depth == 0 else "updated")
    # replaying the firings' set actions in order gives the final ticket
    state = dict(snap)
    for f in out.firings:
        for a in f.actions:
            if a.kind == "set":
                state[a.field] = a.value
    assert state == out.final
    # a chain is cut only when its deepest allowed level still changed something
    if out.capped:
        assert any(f.changed for f in out.firings if f.depth == cap)


@given(snapshots, st.lists(conditions, max_size=4))
def test_a_rule_fires_exactly_when_all_conditions_hold(snap: Any, conds: Any) -> None:
    rule = parse(1, "r", "updated", conds, [{"note": "x"}])
    changed = frozenset({"status"})
    fired = bool(chain([rule], "updated", snap, changed=changed).firings)
    assert fired == all(rules.holds(c, snap, changed) for c in rule.conditions)
