"""Business rules on real tickets (SQLite and PostgreSQL): event rules chain and act in
the change's transaction, a template auto-reply is queued for delivery, time rules act
once per change of the ticket, chains that undo each other stop at the cap, runs are
counted per tenant per month, and a rule naming another tenant's queue is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.desk import automation, rulebook, service
from controlplane.desk import rules as pure
from controlplane.desk.exceptions import InvalidFields
from controlplane.desk.store import Viewer
from controlplane.desk.threads import Inbound, receive
from controlplane.jobs.desk_rules import run_time_rules
from controlplane.models import JobOutbox, Tenant
from controlplane.models.acd import Queue
from controlplane.models.desk import TicketEvent, TicketRule, TicketTemplate
from controlplane.models.tickets import Ticket, TicketMessage
from controlplane.models.webhooks import WebhookEvent


def _tenant(factory: sessionmaker[Session], domain: str = "firma.example") -> tuple[int, int]:
    with transaction(factory) as s:
        t = Tenant(domain=domain, name="Firma")
        s.add(t)
        s.flush()
        q = Queue(tenant_id=t.id, name="vip")
        s.add(q)
        s.flush()
        return t.id, q.id


def _rule(factory: sessionmaker[Session], tenant: int, name: str, trigger: str,
          conditions: list, actions: list) -> int:  # type: ignore[type-arg]
    with transaction(factory) as s:
        return rulebook.save(s, tenant, None, {"name": name, "trigger": trigger,
                                               "conditions": conditions,
                                               "actions": actions}).id


def test_event_rules_chain_in_the_same_transaction(factory: sessionmaker[Session]) -> None:
    tenant, vip = _tenant(factory)
    _rule(factory, tenant, "vip", "created",
          [{"field": "requester", "op": "contains", "value": "@vip.pl"}],
          [{"set": "priority", "value": "urgent"}])
    _rule(factory, tenant, "urgent to the vip queue", "updated",
          [{"field": "changed", "op": "contains", "value": "priority"},
           {"field": "priority", "op": "is", "value": "urgent"}],
          [{"set": "queue_id", "value": vip}, {"note": "Klient VIP"}])
    with transaction(factory) as s:
        got = receive(s, Inbound(tenant, "email", "prezes@vip.pl", "Awaria", subject="Pilne"))
        plain = receive(s, Inbound(tenant, "email", "jan@klient.pl", "Pytanie"))
    with factory() as s:
        t = s.get_one(Ticket, got.ticket_id)
        assert (t.priority, t.queue_id) == ("urgent", vip)
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                           .order_by(TicketEvent.id)).all()
        assert [(e.kind, e.actor) for e in events if e.kind != "rule"] == [
            ("created", "channel:email"), ("priority", "rule:vip"),
            ("queue_id", "rule:urgent to the vip queue")]
        notes = s.scalars(select(TicketMessage.body).where(
            TicketMessage.ticket_id == t.id, TicketMessage.direction == "note")).all()
        assert notes == ["Klient VIP"]
        assert s.get_one(Ticket, plain.ticket_id).priority == "normal"
        month = automation.month_of(datetime.now(UTC))
        assert automation.runs(s, tenant, month) == 2
        types = s.scalars(select(WebhookEvent.type).where(WebhookEvent.tenant_id == tenant)).all()
        assert types.count("ticket.created") == 2 and "ticket.message" in types
        assert types.count("ticket.updated") >= 2


def test_a_message_rule_answers_with_a_template(factory: sessionmaker[Session]) -> None:
    tenant, _ = _tenant(factory)
    with transaction(factory) as s:
        tpl = TicketTemplate(tenant_id=tenant, name="auto",
                             body="Dziękujemy, {{ requester_name }}: zgłoszenie {{ ticket_number }}.")
        s.add(tpl)
        s.flush()
        tpl_id = tpl.id
    _rule(factory, tenant, "auto-reply", "message", [], [{"reply_template": tpl_id}])
    with transaction(factory) as s:
        first = receive(s, Inbound(tenant, "email", "jan@klient.pl", "Raz", subject="S",
                                   sender_name="Jan", external_id="<1@k>"))
    with transaction(factory) as s:  # a new ticket is "created", its next message "message"
        receive(s, Inbound(tenant, "email", "jan@klient.pl", "Dwa", external_id="<2@k>",
                           reply_to=("<1@k>",)))
    with factory() as s:
        out = s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == first.ticket_id,
                                                    TicketMessage.direction == "out")).all()
        assert [m.body for m in out] == [f"Dziękujemy, Jan: zgłoszenie {first.ticket_number}."]
        assert out[0].meta["delivery"] == "pending"
        assert s.scalar(select(func.count()).select_from(JobOutbox).where(
            JobOutbox.job_id == f"desk-deliver-{out[0].id}")) == 1


def _pending(factory: sessionmaker[Session], ticket_id: int, at: datetime) -> None:
    # an UPDATE naming updated_at: the ORM would leave an unchanged value to onupdate (now)
    with transaction(factory) as s:
        s.execute(update(Ticket).where(Ticket.id == ticket_id)
                  .values(status="pending", updated_at=at))


def test_time_rules_act_once_per_change(db_url: str, factory: sessionmaker[Session]) -> None:
    tenant, _ = _tenant(factory)
    _rule(factory, tenant, "48 h pending", "time",
          [{"field": "status", "op": "is", "value": "pending"},
           {"field": "minutes_since_update", "op": "gte", "value": 48 * 60}],
          [{"set": "status", "value": "solved"}])
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with transaction(factory) as s:
        got = receive(s, Inbound(tenant, "sms", "+48600100200", "Halo", at=start))
    _pending(factory, got.ticket_id, start)
    at = (start + timedelta(hours=47)).isoformat()
    assert run_time_rules(db_url, now=at) == 0
    at = (start + timedelta(hours=48)).isoformat()
    assert run_time_rules(db_url, now=at) == 1
    with factory() as s:
        t = s.get_one(Ticket, got.ticket_id)
        assert t.status == "solved" and t.solved_at is not None
    assert run_time_rules(db_url, now=at) == 0
    _pending(factory, got.ticket_id, start + timedelta(hours=50))  # may act again, 48 h on
    assert run_time_rules(db_url, now=(start + timedelta(hours=97)).isoformat()) == 0
    assert run_time_rules(db_url, now=(start + timedelta(hours=98)).isoformat()) == 1


def test_rules_that_undo_each_other_stop_at_the_cap(factory: sessionmaker[Session]) -> None:
    tenant, _ = _tenant(factory)
    _rule(factory, tenant, "up", "updated", [{"field": "priority", "op": "is", "value": "low"}],
          [{"set": "priority", "value": "high"}])
    _rule(factory, tenant, "down", "updated",
          [{"field": "priority", "op": "is", "value": "high"}],
          [{"set": "priority", "value": "low"}])
    with transaction(factory) as s:
        got = receive(s, Inbound(tenant, "email", "a@b.pl", "x"))
    with transaction(factory) as s:
        t = s.get_one(Ticket, got.ticket_id)
        service.change(s, Viewer(tenant, None, "admin", "tester"), t, {"priority": "low"})
    with factory() as s:
        fired = s.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.ticket_id == got.ticket_id, TicketEvent.kind == "rule"))
        # each depth runs both (in order, on the ticket as it is then) until the cap
        assert fired == 2 * (pure.MAX_DEPTH + 1)
        assert automation.runs(s, tenant, automation.month_of(datetime.now(UTC))) == fired


def test_a_rule_naming_another_tenants_queue_is_refused(factory: sessionmaker[Session]) -> None:
    tenant, _ = _tenant(factory)
    _, foreign = _tenant(factory, "inna.example")
    with transaction(factory) as s, pytest.raises(InvalidFields) as err:
        rulebook.save(s, tenant, None, {"name": "x", "trigger": "created", "conditions": [],
                                        "actions": [{"set": "queue_id", "value": foreign}]})
    assert err.value.details["field"] == "actions/0/value"
    with transaction(factory) as s, pytest.raises(pure.RuleInvalid):
        rulebook.save(s, tenant, None, {"name": "x", "trigger": "created",
                                        "conditions": [{"field": "nope"}],
                                        "actions": [{"note": "x"}]})
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(TicketRule)) == 0
