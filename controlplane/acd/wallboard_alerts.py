"""Wallboard alert rules evaluated against a computed board (pure).

A rule fires while at least one subject crosses its threshold: a queue whose longest wait
is over ``threshold`` seconds (``wait_over``), whose service level today is under
``threshold`` per cent (``service_level_under``) or whose abandoned calls today are over
``threshold`` (``abandons_over``); an agent on break for over ``threshold`` minutes
(``break_over``). A rule with a queue looks at that queue only (``break_over`` looks at
every agent). The once-per-crossing debounce is the caller's (``firing_since`` in the
database, see ``controlplane.acd.http.wallboard_alerts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: int
    kind: str
    threshold: float
    queue_id: int | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    rule_id: int
    kind: str
    threshold: float
    subject: str  # the queue's or agent's name
    value: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


QUEUE_FIGURES = {
    "wait_over": ("longest_wait_s", False),
    "service_level_under": ("service_level_pct", True),
    "abandons_over": ("abandoned", False),
}


def _crossed(value: float | None, threshold: float, under: bool) -> bool:
    if value is None:
        return False
    return value < threshold if under else value > threshold


def evaluate(rules: Iterable[Rule], board: Mapping[str, Any]) -> dict[int, list[Alert]]:
    """Rule id → the subjects crossing it now (empty: the rule is quiet)."""
    out: dict[int, list[Alert]] = {}
    for r in rules:
        found: list[Alert] = []
        if r.kind in QUEUE_FIGURES:
            field, under = QUEUE_FIGURES[r.kind]
            for q in board.get("queues", []):
                if r.queue_id is not None and q["queue_id"] != r.queue_id:
                    continue
                v = q.get(field)
                if _crossed(v, r.threshold, under):
                    found.append(Alert(r.rule_id, r.kind, r.threshold, str(q["name"]), float(v)))
        elif r.kind == "break_over":
            for a in board.get("agents", []):
                secs = a.get("in_state_s")
                if a.get("status") == "break" and secs is not None and secs > 60 * r.threshold:
                    found.append(Alert(r.rule_id, r.kind, r.threshold, str(a["name"]),
                                       round(secs / 60.0, 1)))
        out[r.rule_id] = found
    return out
