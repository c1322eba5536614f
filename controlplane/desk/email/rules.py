"""Routing rules of a mailbox: which queue a new mail's ticket goes to (pure).

A mailbox keeps an ordered list of rules, each ``{"field": "subject" | "to" | "from",
"contains": "<text>", "queue_id": <id>}``; the first rule whose field contains the text
(case-insensitive; ``to`` covers To and Cc, so ``faktury@`` catches a mail sent to an
alias) names the queue; no rule matching, the mailbox's own queue. Rules are checked when
saved (:func:`problems`) so a stored list is always well-formed; :func:`route` still skips
an entry it cannot read rather than losing a mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FIELDS = ("subject", "to", "from")
MAX_RULES = 50
MAX_TEXT = 200


@dataclass(frozen=True)
class Facts:
    """What rules look at in one mail."""

    subject: str
    sender: str
    recipients: tuple[str, ...]  # To and Cc


def _matches(rule: Mapping[str, Any], facts: Facts) -> bool:
    needle = str(rule.get("contains") or "").casefold()
    if not needle:
        return False
    field = rule.get("field")
    if field == "subject":
        hay: Iterable[str] = (facts.subject,)
    elif field == "from":
        hay = (facts.sender,)
    elif field == "to":
        hay = facts.recipients
    else:
        return False
    return any(needle in h.casefold() for h in hay)


def route(rules: Sequence[Mapping[str, Any]], facts: Facts, default: int | None) -> int | None:
    """The queue of the first matching rule, else ``default``."""
    for rule in rules:
        queue = rule.get("queue_id")
        if isinstance(queue, int) and _matches(rule, facts):
            return queue
    return default


def problems(rules: Any, queue_ids: set[int]) -> list[tuple[str, str]]:
    """What is wrong with a list of rules about to be saved: (field path, message)."""
    if not isinstance(rules, list):
        return [("rules", "must be a list")]
    if len(rules) > MAX_RULES:
        return [("rules", f"at most {MAX_RULES} rules")]
    out = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not isinstance(rule, Mapping):
            out.append((where, "must be an object with field, contains and queue_id"))
            continue
        extra = set(rule) - {"field", "contains", "queue_id"}
        if extra:
            out.append((where, f"unknown key(s): {', '.join(sorted(map(str, extra)))}"))
        if rule.get("field") not in FIELDS:
            out.append((f"{where}.field", f"must be one of {', '.join(FIELDS)}"))
        text = rule.get("contains")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            out.append((f"{where}.contains", f"text of 1 to {MAX_TEXT} characters"))
        queue = rule.get("queue_id")
        if not isinstance(queue, int) or isinstance(queue, bool) or queue not in queue_ids:
            out.append((f"{where}.queue_id", "not a queue of this tenant"))
    return out
