"""A reply on an e-mail or SMS ticket goes out through its channel's sender (a fake one
here, installed under the real module's name), once: the id it returns threads the
customer's answer, a failure is kept on the message and raised for RQ to retry, and a
channel whose sender does not exist yet leaves the message pending (real SQLite and
PostgreSQL)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.desk import delivery, service
from controlplane.desk.store import Viewer
from controlplane.desk.threads import Inbound, receive
from controlplane.models import Tenant
from controlplane.models.tickets import Ticket, TicketMessage

FAKE = "controlplane.desk.email.outgoing"


class Fake:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []
        self.fail: Exception | None = None

    def deliver(self, s: Session, ticket: Ticket, message: TicketMessage) -> str | None:
        self.calls.append((ticket.id, message.id, message.body))
        if self.fail is not None:
            raise self.fail
        return f"<reply-{message.id}@centrala.test>"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    f = Fake()
    module = types.ModuleType(FAKE)
    module.deliver = f.deliver  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE, module)
    yield f


def _reply(factory: sessionmaker[Session], channel: str, sender: str) -> int:
    with transaction(factory) as s:
        tenant = Tenant(domain=f"{channel}.example", name="Firma")
        s.add(tenant)
        s.flush()
        got = receive(s, Inbound(tenant.id, channel, sender, "Pomocy", subject="Awaria"))
        ticket = s.get_one(Ticket, got.ticket_id)
        v = Viewer(tenant.id, None, "admin", "system")
        return service.post(s, v, ticket, "Już pomagamy").id


def _meta(factory: sessionmaker[Session], message_id: int) -> tuple[dict[str, Any], str | None]:
    with factory() as s:
        m = s.get_one(TicketMessage, message_id)
        return dict(m.meta), m.external_id


def test_sent_once_with_the_channel_id(factory: sessionmaker[Session], fake: Fake) -> None:
    mid = _reply(factory, "email", "jan@klient.pl")
    assert _meta(factory, mid)[0]["delivery"] == "pending"
    assert delivery.deliver(factory, mid) == "sent"
    meta, external = _meta(factory, mid)
    assert meta["delivery"] == "sent" and external == f"<reply-{mid}@centrala.test>"
    assert delivery.deliver(factory, mid) == "sent"  # RQ ran it twice: sent once
    assert len(fake.calls) == 1 and fake.calls[0][2] == "Już pomagamy"


def test_a_failure_is_kept_and_raised_then_retried(factory: sessionmaker[Session],
                                                    fake: Fake) -> None:
    mid = _reply(factory, "email", "ala@klient.pl")
    fake.fail = ConnectionRefusedError("smtp down")
    with pytest.raises(delivery.DeliveryFailed):
        delivery.deliver(factory, mid)
    meta, external = _meta(factory, mid)
    assert meta["delivery"] == "failed: ConnectionRefusedError: smtp down" and external is None
    fake.fail = None
    assert delivery.deliver(factory, mid) == "sent"
    assert _meta(factory, mid)[0]["delivery"] == "sent" and len(fake.calls) == 2


def test_a_missing_sender_leaves_the_message_pending(factory: sessionmaker[Session],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(delivery.SENDERS, "sms", "controlplane.desk.no_such_channel.outgoing")
    mid = _reply(factory, "sms", "+48600100200")
    assert delivery.deliver(factory, mid) == "pending"
    assert _meta(factory, mid)[0]["delivery"] == "pending"


def test_the_job_runs_against_a_database_url(db_url: str, factory: sessionmaker[Session],
                                             fake: Fake) -> None:
    from controlplane.jobs.desk_delivery import desk_deliver

    mid = _reply(factory, "email", "ola@klient.pl")
    assert desk_deliver(mid, database_url=db_url) == "sent"
    assert _meta(factory, mid)[0]["delivery"] == "sent"
