"""Business rules against real tickets: load, run (:func:`controlplane.desk.rules.chain`),
apply, count.

Theory of operation
-------------------
:func:`on_event` is called by :mod:`controlplane.desk.service` in the transaction of the
change (a new ticket, changed fields, a customer's message). It loads the tenant's active
rules, builds the ticket's snapshot, lets the pure chain decide which rules fire, and
applies their actions in the same transaction: fields set directly (each a history line
with the actor ``rule:<name>``, not through :func:`service.change`, so a rule's change
never re-enters here: the chain already ran the rules it triggers), private notes,
template replies (delivered like an agent's), webhook events. :func:`run_time_rules` does
the same for the ``time`` trigger over a tenant's open tickets; a time rule acts on a
ticket once, and again only after the ticket changed (``ticket_rule_fired``).

Runs are counted per tenant per month (``ticket_rule_usage``): the rules page shows the
count and :func:`monthly_limit` is the quota hook (None: unlimited; a plan's limit plugs
in there). Past the limit no rule runs and the ticket's history says so once per change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlplane.desk import rules as pure
from controlplane.desk import templates
from controlplane.desk.exceptions import CentralaError
from controlplane.desk.store import Viewer
from controlplane.models.base import utcnow
from controlplane.models.desk import TicketRule, TicketRuleFired, TicketRuleUsage, TicketTemplate
from controlplane.models.tickets import Ticket
from controlplane.webhooks import outbox as webhooks

log = logging.getLogger(__name__)
TIME_BATCH = 500  # tickets read at a time (by id: every open ticket is looked at each run)
TIME_MAX = 50_000  # open tickets per tenant per run, at most


def month_of(now: datetime) -> str:
    return f"{now:%Y-%m}"


def monthly_limit(s: Session, tenant_id: int) -> int | None:
    """The quota hook: how many rule runs the tenant may have a month (None: no limit)."""
    return None


def runs(s: Session, tenant_id: int, month: str) -> int:
    return s.scalar(select(TicketRuleUsage.runs).where(
        TicketRuleUsage.tenant_id == tenant_id, TicketRuleUsage.month == month)) or 0


def count(s: Session, tenant_id: int, month: str, n: int) -> None:
    """Add ``n`` runs to the tenant's month (an upsert that two writers cannot lose)."""
    if n <= 0:
        return
    bump = (update(TicketRuleUsage).where(TicketRuleUsage.tenant_id == tenant_id,
                                          TicketRuleUsage.month == month)
            .values(runs=TicketRuleUsage.runs + n).execution_options(synchronize_session=False))
    if s.execute(bump).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with s.begin_nested():
            s.add(TicketRuleUsage(tenant_id=tenant_id, month=month, runs=n))
            s.flush()
    except IntegrityError:
        s.execute(bump)


def load(s: Session, tenant_id: int) -> list[pure.Rule]:
    """The tenant's active rules in order; a stored rule that no longer parses is skipped."""
    out = []
    for row in s.scalars(select(TicketRule).where(TicketRule.tenant_id == tenant_id,
                                                  TicketRule.active.is_(True))
                         .order_by(TicketRule.position, TicketRule.id)):
        try:
            out.append(pure.parse(row.id, row.name, row.trigger, row.conditions, row.actions))
        except pure.RuleInvalid as err:
            log.warning("ticket rule %s (%s) skipped: %s", row.id, row.name, err.message)
    return out


def snapshot(t: Ticket, now: datetime) -> dict[str, Any]:
    return {"status": t.status, "priority": t.priority, "channel": t.channel,
            "category_id": t.category_id, "assignee_user_id": t.assignee_user_id,
            "queue_id": t.queue_id, "subject": t.subject, "requester": t.requester,
            "minutes_since_update": max(0, int((now - t.updated_at).total_seconds() // 60)),
            "minutes_since_created": max(0, int((now - t.created_at).total_seconds() // 60))}


def on_event(s: Session, ticket: Ticket, trigger: str, *, depth: int = 0,
             changed: set[str] | None = None) -> int:
    """Run the tenant's rules for ``trigger`` on ``ticket``; how many fired."""
    if depth > 0 or ticket.merged_into_id is not None:
        return 0
    rules = load(s, ticket.tenant_id)
    if not any(r.trigger == trigger for r in rules):
        return 0
    return _run(s, ticket, rules, trigger, frozenset(changed or ()), utcnow())


def _run(s: Session, ticket: Ticket, rules: Sequence[pure.Rule], trigger: str,
         changed: frozenset[str], now: datetime) -> int:
    month = month_of(now)
    limit = monthly_limit(s, ticket.tenant_id)
    if limit is not None and runs(s, ticket.tenant_id, month) >= limit:
        log.info("tenant %s: rule runs limit %s reached; rules skipped", ticket.tenant_id, limit)
        return 0
    outcome = pure.chain(rules, trigger, snapshot(ticket, now), changed=changed)
    for firing in outcome.firings:
        apply(s, ticket, firing, now)
    if outcome.capped:
        log.warning("ticket %s: rule chain cut at depth %s", ticket.id, pure.MAX_DEPTH)
    count(s, ticket.tenant_id, month, len(outcome.firings))
    return len(outcome.firings)


def apply(s: Session, ticket: Ticket, firing: pure.Firing, now: datetime) -> None:
    """Carry out one firing's actions on ``ticket`` (the caller's transaction)."""
    from controlplane.desk import service  # service calls back into this module

    v = Viewer(ticket.tenant_id, None, "admin", f"rule:{firing.name}"[:320], firing.name)
    changes: dict[str, dict[str, Any]] = {}
    for a in firing.actions:
        if a.kind == "set":
            old = getattr(ticket, a.field)
            if old == a.value:
                continue
            try:
                names = service.check_refs(s, ticket.tenant_id, {a.field: a.value})
            except CentralaError as err:  # the queue/user/category is gone since
                service.event(s, ticket, v, "rule", rule=firing.name, error=err.message)
                continue
            old_name = service.name_of(s, ticket, a.field)
            setattr(ticket, a.field, a.value)
            if a.field == "status":
                ticket.solved_at = now if a.value in ("solved", "closed") else None
            extra = ({"old_name": old_name, "new_name": names.get(a.field, "")}
                     if a.field.endswith("_id") else {})
            service.event(s, ticket, v, a.field, old, a.value, rule=firing.name, **extra)
            changes[a.field] = {"old": old, "new": a.value}
        elif a.kind == "note":
            service.post(s, v, ticket, a.value, note=True, depth=firing.depth + 1)
        elif a.kind == "reply_template":
            _template_reply(s, ticket, v, firing, int(a.value))
        elif a.kind == "webhook":
            webhooks.emit(s, "ticket.updated", ticket.tenant_id,
                          {"ticket": service.ticket_json(ticket), "actor": v.actor,
                           "changes": dict(changes), "rule": firing.name, "label": a.value})
    service.event(s, ticket, v, "rule", rule=firing.name, depth=firing.depth)
    if changes:
        ticket.updated_at = now
        s.flush()
        webhooks.emit(s, "ticket.updated", ticket.tenant_id,
                      {"ticket": service.ticket_json(ticket), "actor": v.actor,
                       "changes": changes, "rule": firing.name})


def _template_reply(s: Session, ticket: Ticket, v: Viewer, firing: pure.Firing,
                    template_id: int) -> None:
    from controlplane.desk import service, store

    tpl = s.scalar(select(TicketTemplate).where(TicketTemplate.id == template_id,
                                                TicketTemplate.tenant_id == ticket.tenant_id))
    if tpl is None:
        service.event(s, ticket, v, "rule", rule=firing.name, error="template not found")
        return
    try:
        text = templates.render(tpl.body, store.template_parameters(s, ticket, v))
    except CentralaError as err:
        service.event(s, ticket, v, "rule", rule=firing.name, error=err.message)
        return
    service.post(s, v, ticket, text, depth=firing.depth + 1)  # delivered like an agent's


def _open_tickets(s: Session, tenant_id: int) -> Iterator[Ticket]:
    """The tenant's open, unmerged tickets in id order, a batch at a time (every one is
    looked at: an old ticket no rule matches never hides the newer ones behind it)."""
    after, seen = 0, 0
    while seen < TIME_MAX:
        batch = s.scalars(select(Ticket).where(
            Ticket.tenant_id == tenant_id, Ticket.status != "closed", Ticket.id > after,
            Ticket.merged_into_id.is_(None)).order_by(Ticket.id).limit(TIME_BATCH)).all()
        if not batch:
            return
        yield from batch
        after, seen = batch[-1].id, seen + len(batch)


def time_rules(s: Session, tenant_id: int, now: datetime) -> int:
    """Run the tenant's time rules over its open tickets; how many fired."""
    rules = load(s, tenant_id)
    timed = [r for r in rules if r.trigger == "time"]
    if not timed:
        return 0
    others = [r for r in rules if r.trigger != "time"]
    fired = 0
    for ticket in _open_tickets(s, tenant_id):
        done = dict(s.execute(select(TicketRuleFired.rule_id, TicketRuleFired.ticket_updated_at)
                              .where(TicketRuleFired.ticket_id == ticket.id)).all())
        due = [r for r in timed if r.id not in done or done[r.id] < ticket.updated_at]
        if not due:
            continue
        before = {r.id for r in due if pure.matches(r, snapshot(ticket, now))}
        if not before:
            continue
        fired += _run(s, ticket, [*due, *others], "time", frozenset(), now)
        for rule_id in before:
            row = s.get(TicketRuleFired, (rule_id, ticket.id))
            if row is None:
                s.add(TicketRuleFired(rule_id=rule_id, ticket_id=ticket.id,
                                      ticket_updated_at=ticket.updated_at, fired_at=now))
            else:
                row.ticket_updated_at, row.fired_at = ticket.updated_at, now
        s.flush()
    return fired
