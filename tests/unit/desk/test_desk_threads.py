"""Messages from every channel thread into tickets (real SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.desk import threads
from controlplane.desk.threads import Inbound
from controlplane.models import Tenant
from controlplane.models.contacts import Contact, ContactPhone
from controlplane.models.tickets import Ticket, TicketMessage


def _tenants(factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(factory) as s:
        a = Tenant(domain="firma.example", name="Firma", time_zone="Europe/Warsaw")
        b = Tenant(domain="inna.example", name="Inna", time_zone="Europe/Warsaw")
        s.add_all([a, b])
        s.flush()
        return a.id, b.id


def test_a_mail_reply_joins_its_ticket_and_a_repeat_adds_nothing(
        factory: sessionmaker[Session]) -> None:
    firma, inna = _tenants(factory)
    with transaction(factory) as s:
        s.add(Contact(tenant_id=firma, first_name="Jan", email="Jan@Klient.pl"))
        first = threads.receive(s, Inbound(firma, "email", "jan@klient.pl", "Nie działa",
                                           subject="Awaria", external_id="<a@klient.pl>"))
        assert first.created and first.ticket_number == 1
        ticket = s.get_one(Ticket, first.ticket_id)
        assert ticket.subject == "Awaria" and ticket.contact_id is not None
        out = threads.reply(s, ticket, body="Sprawdzamy", channel="email", author_user_id=None,
                            external_id="<r1@centrala>")
        assert ticket.first_response_at == out.created_at and ticket.status == "open"
        ticket.status = "solved"
    with transaction(factory) as s:
        again = threads.receive(s, Inbound(firma, "email", "jan@klient.pl", "Dalej nie",
                                           external_id="<b@klient.pl>",
                                           reply_to=("<r1@centrala>", "<a@klient.pl>")))
        assert (again.ticket_id, again.created) == (first.ticket_id, False)
        assert s.get_one(Ticket, first.ticket_id).status == "open"  # reopened
        dup = threads.receive(s, Inbound(firma, "email", "jan@klient.pl", "Dalej nie",
                                         external_id="<b@klient.pl>"))
        assert dup.duplicate and dup.message_id is None
        # another tenant's message with the same ids is its own ticket
        other = threads.receive(s, Inbound(inna, "email", "jan@klient.pl", "x",
                                           external_id="<b@klient.pl>",
                                           reply_to=("<r1@centrala>",)))
        assert other.created and other.ticket_number == 1 and not other.duplicate
        assert s.scalar(select(func.count()).select_from(TicketMessage)
                        .where(TicketMessage.ticket_id == first.ticket_id)) == 3


def test_sms_thread_by_number_merged_and_closed_tickets(factory: sessionmaker[Session]) -> None:
    firma, _ = _tenants(factory)
    with transaction(factory) as s:
        c = Contact(tenant_id=firma, first_name="Ala")
        s.add(c)
        s.flush()
        s.add(ContactPhone(tenant_id=firma, contact_id=c.id, number="+48600100900",
                           kind="mobile"))
        sms = Inbound(firma, "sms", "+48600100900", "Halo", thread_key=True)
        one = threads.receive(s, sms)
        assert s.get_one(Ticket, one.ticket_id).contact_id == c.id
        assert threads.receive(s, sms).ticket_id == one.ticket_id
        # merged: the thread goes on in the ticket it was merged into
        target = threads.receive(s, Inbound(firma, "email", "ala@x.pl", "inny"))
        s.get_one(Ticket, one.ticket_id).merged_into_id = target.ticket_id
        s.flush()
        assert threads.receive(s, sms).ticket_id == target.ticket_id
        mail = threads.receive(s, Inbound(firma, "email", "ala@x.pl", "a", external_id="<m1>"))
        s.get_one(Ticket, mail.ticket_id).merged_into_id = target.ticket_id
        s.flush()
        assert threads.receive(s, Inbound(firma, "email", "ala@x.pl", "b",
                                          reply_to=("<m1>",))).ticket_id == target.ticket_id
        # closed: never reopened, a new ticket starts
        s.get_one(Ticket, target.ticket_id).status = "closed"
        s.flush()
        fresh = threads.receive(s, Inbound(firma, "email", "ala@x.pl", "c", reply_to=("<m1>",)))
        assert fresh.created and fresh.ticket_id != target.ticket_id
