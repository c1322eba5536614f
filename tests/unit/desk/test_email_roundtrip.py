"""E-mail end to end against real servers: Dovecot (IMAP) and an SMTP server on loopback.

A customer's mail sent over SMTP to the tenant's mailbox becomes a ticket (routed by the
mailbox's rules); the agent's reply goes out through the mailbox's SMTP and arrives in the
customer's own mailbox with In-Reply-To and References set; the customer's answer to it
joins the same ticket; a reply that solves the ticket carries a survey link. The reader
never records a mail twice, also after a "restart" (a new poll from the stored place).
"""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from desklab import MailLab, maillab  # noqa: F401
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings, load_settings
from controlplane.db import transaction
from controlplane.desk import delivery, threads
from controlplane.desk import service as desk_service
from controlplane.desk.email import outgoing, reader, survey, vault
from controlplane.desk.store import Viewer
from controlplane.models import Tenant
from controlplane.models.acd import Queue
from controlplane.models.desk_mail import DeskMailbox, DeskSurvey
from controlplane.models.outbox import JobOutbox
from controlplane.models.tickets import Ticket, TicketMessage

SUPPORT = "support@firma.example"
CUSTOMER = "jan@klient.example"


def _settings(tmp_path: Path) -> Settings:
    return load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "var"),
                          "CENTRALA_PUBLIC_URL": "https://panel.firma.example"})


def _world(factory: sessionmaker[Session], settings: Settings, lab: MailLab) -> tuple[int, int, int]:
    password = lab.add_user(SUPPORT)
    lab.add_user(CUSTOMER)
    with transaction(factory) as s:
        tenant = Tenant(domain="firma.example", name="Firma", time_zone="Europe/Warsaw")
        s.add(tenant)
        s.flush()
        general, invoices = Queue(tenant_id=tenant.id, name="ogolna"), Queue(
            tenant_id=tenant.id, name="faktury")
        s.add_all([general, invoices])
        s.flush()
        box = DeskMailbox(
            tenant_id=tenant.id, address=SUPPORT, display_name="Firma – pomoc",
            imap_host="127.0.0.1", imap_port=lab.imap_port, imap_security="plain",
            imap_login=SUPPORT, imap_password=vault.encrypt(settings.runtime_dir, password),
            smtp_host="127.0.0.1", smtp_port=lab.smtp_port, smtp_security="plain",
            queue_id=general.id,
            rules=[{"field": "subject", "contains": "faktura", "queue_id": invoices.id}])
        s.add(box)
        s.flush()
        return box.id, general.id, invoices.id


def _customer_mail(subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Jan Kowalski <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="klient.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _poll_until(factory: sessionmaker[Session], settings: Settings, box_id: int,
                count: int) -> None:
    """Poll (as the poller would) until ``count`` mails were recorded in all."""
    from helpers import until

    total = [0]

    def step() -> bool:
        got = reader.poll(factory, settings.runtime_dir, box_id)
        assert not got.error, got.error
        total[0] += got.read
        return total[0] >= count

    until(step, timeout=20, interval=0.3, what=f"{count} mail(s) read")


def test_mail_becomes_a_ticket_the_reply_threads_and_the_answer_joins(
        factory: sessionmaker[Session], maillab: MailLab, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path)
    box_id, general, invoices = _world(factory, settings, maillab)
    first = _customer_mail("Faktura 12/2026 – błędna kwota", "Dzień dobry,\nkwota się nie zgadza.")
    first.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf",
                         filename="faktura.pdf")
    maillab.send(first)
    _poll_until(factory, settings, box_id, 1)

    with factory() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.channel, ticket.requester, ticket.requester_name) == (
            "email", CUSTOMER, "Jan Kowalski")
        assert ticket.subject == "Faktura 12/2026 – błędna kwota"
        assert ticket.queue_id == invoices  # the rule, not the mailbox's queue
        msg = s.scalars(select(TicketMessage)).one()
        assert msg.external_id == first["Message-ID"] and "kwota się nie zgadza" in msg.body
        [att] = msg.meta["attachments"]
        assert (att["name"], att["size"]) == ("faktura.pdf", len(b"%PDF-1.4 test"))
        path = settings.runtime_dir / att["file"]
        assert path.read_bytes() == b"%PDF-1.4 test"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        box = s.get_one(DeskMailbox, box_id)
        assert box.last_uid >= 1 and box.uidvalidity and box.last_error == ""

    # The agent replies as the ticket page does (desk.service.post: the delivery job joins
    # the job outbox in the reply's transaction), then the job runs (desk.delivery.deliver
    # over the e-mail channel's sender, with the worker's settings from the environment).
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(settings.runtime_dir))
    monkeypatch.setenv("CENTRALA_PUBLIC_URL", "https://panel.firma.example")
    with transaction(factory) as s:
        ticket = s.scalars(select(Ticket)).one()
        viewer = Viewer(ticket.tenant_id, None, "admin", "system")
        out_id = desk_service.post(s, viewer, ticket, "Dziękujemy, poprawimy fakturę.").id
        assert s.scalar(select(JobOutbox.job_id).where(
            JobOutbox.job_id == delivery.job_id(out_id))) is not None
    assert delivery.deliver(factory, out_id) == "sent"
    assert delivery.deliver(factory, out_id) == "sent"  # a retried job sends nothing again
    with factory() as s:
        out = s.get_one(TicketMessage, out_id)
        sent_id = out.external_id
        assert sent_id and sent_id.endswith("@firma.example>")
    [reply] = maillab.wait_for(CUSTOMER)
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in reply["References"]
    assert reply["Message-ID"] == sent_id
    assert reply["Subject"] == f"Re: Faktura 12/2026 – błędna kwota [#{ticket.number}]"
    assert reply["From"].addresses[0].addr_spec == SUPPORT
    assert "poprawimy fakturę" in reply.get_content()

    # The customer answers the reply: the same ticket (not routed again), reopened.
    answer = _customer_mail(reply["Subject"], "Dziękuję!", In_Reply_To=sent_id,
                            References=f"{first['Message-ID']} {sent_id}")
    maillab.send(answer)
    _poll_until(factory, settings, box_id, 1)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        rows = s.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
        assert [m.direction for m in rows] == ["in", "out", "in"]
        assert rows[2].external_id == answer["Message-ID"]

    # A reply that solves the ticket carries the survey link; the survey stores the score.
    with transaction(factory) as s:
        ticket = s.scalars(select(Ticket)).one()
        ticket.status = "solved"
        out = threads.reply(s, ticket, body="Faktura poprawiona.", channel="email",
                            author_user_id=None)
        outgoing.deliver(s, ticket, out, settings=settings)
    replies = maillab.wait_for(CUSTOMER, count=2)
    solved = next(m for m in replies if "poprawiona" in m.get_content())
    assert solved["In-Reply-To"] == answer["Message-ID"]
    text = solved.get_content()
    assert "https://panel.firma.example/desk/survey/" in text
    secret = text.split("/desk/survey/", 1)[1].split()[0]
    with transaction(factory) as s:
        found = survey.find(s, secret)
        assert found is not None and found.ticket_id == ticket.id
        survey.answer(s, found, 5, "Szybko i konkretnie")
    with factory() as s:
        assert s.scalars(select(DeskSurvey)).one().score == 5

    # Nothing is read twice: another poll (a restarted reader) records nothing new.
    assert reader.poll(factory, settings.runtime_dir, box_id).read == 0


def test_the_poller_reads_due_mailboxes_once_and_records_a_bad_login(
        factory: sessionmaker[Session], maillab: MailLab, tmp_path: Path) -> None:  # noqa: F811
    from concurrent.futures import Future, ThreadPoolExecutor
    from datetime import timedelta

    from controlplane.desk.email import poller
    from controlplane.models.base import utcnow

    settings = _settings(tmp_path)
    box_id, _general, _inv = _world(factory, settings, maillab)
    auto = _customer_mail("Out of office", "Jestem na urlopie", Auto_Submitted="auto-replied")
    maillab.send(auto)
    running: dict[int, Future[reader.Polled]] = {}
    with ThreadPoolExecutor(2) as pool:
        assert poller.tick(factory, settings.runtime_dir, pool, running) == [box_id]
        assert poller.tick(factory, settings.runtime_dir, pool, running) == []  # in flight
        running[box_id].result(timeout=20)
        assert poller.tick(factory, settings.runtime_dir, pool, running) == []  # not due yet
    with factory() as s:
        msg = s.scalars(select(TicketMessage)).one()
        assert msg.meta["automatic"] == "Auto-Submitted: auto-replied"  # recorded, marked
    now = utcnow()
    assert poller.due([(1, 30, None), (2, 30, now - timedelta(seconds=31)),
                       (3, 30, now - timedelta(seconds=5))], now) == [1, 2]
    # a wrong password: the poll says so on the mailbox, in words, without the password
    with transaction(factory) as s:
        s.get_one(DeskMailbox, box_id).imap_password = vault.encrypt(settings.runtime_dir, "zle!")
    got = reader.poll(factory, settings.runtime_dir, box_id)
    assert "login refused" in got.error and "zle!" not in got.error
    with factory() as s:
        assert "login refused" in s.get_one(DeskMailbox, box_id).last_error
