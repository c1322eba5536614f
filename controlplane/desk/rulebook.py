"""A tenant's business rules as stored: list, save (checked), delete, and their monthly runs.

A rule is saved only when :func:`controlplane.desk.rules.parse` accepts it and every id
its actions name is the tenant's (a category, queue, active user, response template):
422 ``invalid_form`` naming the field (``actions/0/value``) otherwise. Shapes are the
pure module's; this module is the SQL around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlplane.desk import automation
from controlplane.desk import rules as pure
from controlplane.desk.exceptions import CentralaError, DeskNotFound, FieldIssue, InvalidFields
from controlplane.models.base import utcnow
from controlplane.models.desk import TicketRule, TicketTemplate


def rule_json(r: TicketRule) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "trigger": r.trigger, "conditions": list(r.conditions),
            "actions": list(r.actions), "active": r.active, "position": r.position}


def rules_of(s: Session, tenant_id: int) -> list[TicketRule]:
    return list(s.scalars(select(TicketRule).where(TicketRule.tenant_id == tenant_id)
                          .order_by(TicketRule.position, TicketRule.id)))


def rule(s: Session, tenant_id: int, rule_id: int) -> TicketRule:
    row = s.scalar(select(TicketRule).where(TicketRule.id == rule_id,
                                            TicketRule.tenant_id == tenant_id))
    if row is None:
        raise DeskNotFound(f"no rule {rule_id} in your tenant")
    return row


def _check_refs(s: Session, tenant_id: int, parsed: pure.Rule) -> None:
    from controlplane.desk import service

    for i, a in enumerate(parsed.actions):
        if a.kind == "set" and a.field.endswith("_id") and a.value is not None:
            try:
                service.check_refs(s, tenant_id, {a.field: a.value})
            except CentralaError as err:
                raise InvalidFields([FieldIssue(f"actions/{i}/value", err.message)]) from None
        if a.kind == "reply_template" and s.scalar(select(TicketTemplate.id).where(
                TicketTemplate.id == a.value, TicketTemplate.tenant_id == tenant_id)) is None:
            raise InvalidFields([FieldIssue(f"actions/{i}/reply_template",
                                            "no such response template in your tenant")])


def save(s: Session, tenant_id: int, rule_id: int | None, values: Mapping[str, Any]
         ) -> TicketRule:
    """Create (``rule_id`` None) or change a rule; fields not given keep their value."""
    row = rule(s, tenant_id, rule_id) if rule_id is not None else None
    merged = {"name": row.name if row else None, "trigger": row.trigger if row else None,
              "conditions": list(row.conditions) if row else [],
              "actions": list(row.actions) if row else None,
              "active": row.active if row else True,
              "position": row.position if row else None,
              **{k: v for k, v in values.items() if v is not None}}
    issues = [FieldIssue(k, "required") for k in ("name", "trigger", "actions")
              if merged.get(k) in (None, "")]
    if issues:
        raise InvalidFields(issues)
    parsed = pure.parse(rule_id or 0, merged["name"], merged["trigger"], merged["conditions"],
                        merged["actions"])
    _check_refs(s, tenant_id, parsed)
    if row is None:
        top = s.scalar(select(func.max(TicketRule.position)).where(
            TicketRule.tenant_id == tenant_id))
        row = TicketRule(tenant_id=tenant_id, created_at=utcnow())
        merged["position"] = merged["position"] if merged["position"] is not None else (
            (top or 0) + 10)
    row.name, row.trigger = merged["name"].strip(), merged["trigger"]
    row.conditions, row.actions = merged["conditions"], merged["actions"]
    row.active, row.position = bool(merged["active"]), int(merged["position"])
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        raise InvalidFields([FieldIssue("name", "this name is taken")]) from None
    return row


def describe(r: TicketRule) -> dict[str, Any]:
    """A rule as the page lists it: conditions as lines, or the reason it cannot run."""
    try:
        parsed = pure.parse(r.id, r.name, r.trigger, r.conditions, r.actions)
    except pure.RuleInvalid as err:
        return {"conditions": [], "error": err.message}
    return {"conditions": [pure.describe(c) for c in parsed.conditions], "error": None}


def usage(s: Session, tenant_id: int, month: str) -> dict[str, Any]:
    """This month's rule runs and the limit (None: none)."""
    return {"month": month, "runs": automation.runs(s, tenant_id, month),
            "limit": automation.monthly_limit(s, tenant_id)}
