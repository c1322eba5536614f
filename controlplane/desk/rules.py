"""Business rules of the desk, as pure functions: parse, match, and run a chain (pure).

Theory of operation
-------------------
A rule is *when* (``trigger``), *if* (every condition holds) and *then* (its actions, in
order). Triggers are events — ``created`` (a new ticket), ``updated`` (fields changed),
``message`` (the customer wrote) — or ``time`` (the periodic job looks at every open
ticket every minute: "pending for 48 h → solved").

=================  =============================================================
condition field    meaning
=================  =============================================================
status, priority,  the ticket's field (ids are numbers; ``null``: none)
channel, category_id, assignee_user_id, queue_id
subject, requester  text (``contains`` is case-insensitive)
minutes_since_update, minutes_since_created   whole minutes (``gte``, ``lte``)
changed            the fields the triggering update changed (``contains``)
=================  =============================================================

Operators: ``is``, ``is_not``, ``in``, ``not_in`` (a list), ``contains``, ``gte``, ``lte``.
Actions: ``{"set": field, "value": v}`` (status, priority, category_id, assignee_user_id,
queue_id), ``{"note": text}`` (a private note), ``{"reply_template": id}`` (a reply
rendered from a response template), ``{"webhook": label}`` (a ``ticket.updated`` webhook
event carrying the rule and label).

Chaining (:func:`chain`): the rules of the trigger run in ``position`` order against the
ticket as it is then; every field an action changes becomes an ``updated`` event of the
next depth, which runs the ``updated`` rules, and so on. A chain stops when nothing
changes, or at :data:`MAX_DEPTH` (two rules that undo each other would otherwise never
end); ``capped`` says it was cut. Each firing is one *run* (what the tenant's monthly
count adds up).

No I/O here: the SQL side (:mod:`controlplane.desk.automation`) builds the snapshot,
applies the firings and counts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlplane.errors import CentralaError

TRIGGERS = ("created", "updated", "message", "time")
SETTABLE = ("status", "priority", "category_id", "assignee_user_id", "queue_id")
TEXT_FIELDS = ("subject", "requester")
NUMBER_FIELDS = ("minutes_since_update", "minutes_since_created")
FIELDS = (*SETTABLE, "channel", *TEXT_FIELDS, *NUMBER_FIELDS, "changed")
OPS = ("is", "is_not", "in", "not_in", "contains", "gte", "lte")
VALUES = {"status": ("new", "open", "pending", "solved", "closed"),
          "priority": ("low", "normal", "high", "urgent"),
          "channel": ("email", "sms", "chat", "call", "web", "panel")}
MAX_DEPTH = 5
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
NOTE_MAX = 2000


class RuleInvalid(CentralaError):
    """A rule that cannot run: 422 ``invalid_form`` naming the field (``conditions/0/op``)."""

    status = 422
    error_id = "invalid_form"

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"field '{where}': {message}",
                         details={"field": where, "message": message,
                                  "errors": [{"field": where, "message": message,
                                              "pointer": "/" + where}]})
        self.field = where


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Action:
    kind: str  # set | note | reply_template | webhook
    field: str = ""
    value: Any = None


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    trigger: str
    conditions: tuple[Condition, ...] = ()
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Firing:
    rule_id: int
    name: str
    depth: int
    actions: tuple[Action, ...]
    changed: tuple[str, ...]  # fields its set actions changed


@dataclass
class Outcome:
    firings: list[Firing] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)
    capped: bool = False


def _value_ok(fname: str, value: Any, where: str) -> None:
    if fname in VALUES and value not in VALUES[fname]:
        raise RuleInvalid(where, f"one of {', '.join(VALUES[fname])}")
    if fname.endswith("_id") and value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise RuleInvalid(where, "an id (a positive whole number) or null")
    if fname in NUMBER_FIELDS and (not isinstance(value, int) or isinstance(value, bool)
                                   or not 0 <= value <= 10 ** 7):
        raise RuleInvalid(where, "whole minutes, 0 to 10000000")
    if fname in TEXT_FIELDS and (not isinstance(value, str) or len(value) > 300):
        raise RuleInvalid(where, "text of at most 300 characters")
    if fname == "changed" and value not in SETTABLE and value != "subject":
        raise RuleInvalid(where, f"one of {', '.join((*SETTABLE, 'subject'))}")


def parse_condition(doc: Any, where: str) -> Condition:
    if not isinstance(doc, Mapping):
        raise RuleInvalid(where, "an object with field, op and value")
    fname, op, value = doc.get("field"), doc.get("op"), doc.get("value")
    if set(doc) - {"field", "op", "value"}:
        raise RuleInvalid(where, "only field, op and value")
    if fname not in FIELDS:
        raise RuleInvalid(f"{where}/field", f"one of {', '.join(FIELDS)}")
    if op not in OPS:
        raise RuleInvalid(f"{where}/op", f"one of {', '.join(OPS)}")
    if op in ("gte", "lte") and fname not in NUMBER_FIELDS:
        raise RuleInvalid(f"{where}/op", "gte and lte compare the minutes fields only")
    if fname in NUMBER_FIELDS and op not in ("gte", "lte", "is", "is_not"):
        raise RuleInvalid(f"{where}/op", "the minutes fields take is, is_not, gte or lte")
    if fname == "changed" and op != "contains":
        raise RuleInvalid(f"{where}/op", "changed takes contains")
    if op == "contains" and fname not in (*TEXT_FIELDS, "changed"):
        raise RuleInvalid(f"{where}/op", "contains is for subject, requester and changed")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 50:
            raise RuleInvalid(f"{where}/value", "a list of 1 to 50 values")
        for i, v in enumerate(value):
            _value_ok(fname, v, f"{where}/value/{i}")
        value = tuple(value)
    else:
        _value_ok(fname, value, f"{where}/value")
    return Condition(fname, op, value)


def parse_action(doc: Any, where: str) -> Action:
    if not isinstance(doc, Mapping) or len(doc) not in (1, 2):
        raise RuleInvalid(where, "an object: set+value, note, reply_template or webhook")
    if "set" in doc:
        if set(doc) != {"set", "value"}:
            raise RuleInvalid(where, "set takes a value")
        if doc["set"] not in SETTABLE:
            raise RuleInvalid(f"{where}/set", f"one of {', '.join(SETTABLE)}")
        if doc["set"] in ("status", "priority") and doc["value"] is None:
            raise RuleInvalid(f"{where}/value", "a ticket always has a status and priority")
        _value_ok(doc["set"], doc["value"], f"{where}/value")
        return Action("set", doc["set"], doc["value"])
    if len(doc) != 1:
        raise RuleInvalid(where, "one of: set (with value), note, reply_template, webhook")
    kind, value = next(iter(doc.items()))
    if kind == "note":
        if not isinstance(value, str) or not value.strip() or len(value) > NOTE_MAX:
            raise RuleInvalid(f"{where}/note", f"text of 1 to {NOTE_MAX} characters")
        return Action("note", value=value)
    if kind == "reply_template":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RuleInvalid(f"{where}/reply_template", "a response template's id")
        return Action("reply_template", value=value)
    if kind == "webhook":
        if not isinstance(value, str) or not 1 <= len(value) <= 100:
            raise RuleInvalid(f"{where}/webhook", "a label of 1 to 100 characters")
        return Action("webhook", value=value)
    raise RuleInvalid(where, "one of: set (with value), note, reply_template, webhook")


def parse(rule_id: int, name: str, trigger: str, conditions: Any, actions: Any) -> Rule:
    """A rule from its stored (JSON) form; :class:`RuleInvalid` naming the field."""
    if trigger not in TRIGGERS:
        raise RuleInvalid("trigger", f"one of {', '.join(TRIGGERS)}")
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise RuleInvalid("conditions", f"a list of at most {MAX_CONDITIONS} conditions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        raise RuleInvalid("actions", f"a list of 1 to {MAX_ACTIONS} actions")
    conds = tuple(parse_condition(c, f"conditions/{i}") for i, c in enumerate(conditions))
    acts = tuple(parse_action(a, f"actions/{i}") for i, a in enumerate(actions))
    if trigger == "time" and not any(c.field in NUMBER_FIELDS for c in conds):
        raise RuleInvalid("conditions", "a time rule needs a minutes_since_… condition "
                          "(else it would act on every ticket every minute)")
    return Rule(rule_id, name, trigger, conds, acts)


def holds(c: Condition, snapshot: Mapping[str, Any], changed: frozenset[str]) -> bool:
    if c.field == "changed":
        return c.value in changed
    have = snapshot.get(c.field)
    if c.op == "is":
        return bool(have == c.value)
    if c.op == "is_not":
        return bool(have != c.value)
    if c.op == "in":
        return have in c.value
    if c.op == "not_in":
        return have not in c.value
    if c.op == "contains":
        return str(c.value).casefold() in str(have or "").casefold()
    if not isinstance(have, int):
        return False
    return bool(have >= c.value) if c.op == "gte" else bool(have <= c.value)


def matches(rule: Rule, snapshot: Mapping[str, Any], changed: frozenset[str] = frozenset()
            ) -> bool:
    return all(holds(c, snapshot, changed) for c in rule.conditions)


def chain(rules: Sequence[Rule], trigger: str, snapshot: Mapping[str, Any], *,
          changed: frozenset[str] = frozenset(), max_depth: int = MAX_DEPTH) -> Outcome:
    """Run ``trigger``'s rules on ``snapshot`` and the ``updated`` rules their changes
    trigger, breadth first, to ``max_depth`` (see the module's docstring)."""
    out = Outcome(final=dict(snapshot))
    pending: list[tuple[str, frozenset[str], int]] = [(trigger, changed, 0)]
    while pending:
        trig, why, depth = pending.pop(0)
        if depth > max_depth:
            out.capped = True
            continue
        now_changed: set[str] = set()
        for rule in rules:
            if rule.trigger != trig or not matches(rule, out.final, why):
                continue
            mine = []
            for a in rule.actions:
                if a.kind == "set" and out.final.get(a.field) != a.value:
                    out.final[a.field] = a.value
                    mine.append(a.field)
            now_changed.update(mine)
            out.firings.append(Firing(rule.id, rule.name, depth, rule.actions, tuple(mine)))
        if now_changed:
            pending.append(("updated", frozenset(now_changed), depth + 1))
    return out


def describe(c: Condition) -> str:
    """A condition as one line (the rules page shows rules this way)."""
    value = ", ".join(map(str, c.value)) if isinstance(c.value, tuple) else c.value
    return f"{c.field} {c.op} {'—' if value is None else value}"
