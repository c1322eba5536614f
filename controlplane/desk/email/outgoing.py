"""An agent's reply on an e-mail ticket, sent through the tenant's mailbox over SMTP.

:func:`deliver` is called by the tickets' reply job (RQ, synchronous, retried by RQ) with
the job's session, the ticket and the outbound ``ticket_message``; it returns the
Message-ID it sent, which becomes the message's ``external_id`` (so the customer's answer,
whose In-Reply-To names it, joins the same ticket), or None when there is nothing to send
by e-mail (a note, an empty body).

The reply: ``From`` the mailbox (its display name and address), ``To`` the ticket's
requester, ``Subject: Re: <subject> [#<number>]`` (no "Re: Re:", the number once),
``In-Reply-To`` the last message the customer sent, ``References`` the thread's ids in
order (the newest :data:`MAX_REFERENCES`), a fresh ``Message-ID`` on the tenant's domain and
``Auto-Submitted`` left out (a person wrote it). The mailbox is the one the customer's
last mail came in through, else the tenant's first active one.

A reply that solves the ticket (the ticket is ``solved`` when the job runs) carries a
satisfaction survey link in its footer (:mod:`controlplane.desk.email.survey`).

Idempotent: a message that already has an ``external_id`` was sent: it is not sent again.
"""

from __future__ import annotations

import re
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings, load_settings
from controlplane.desk.email import survey, vault
from controlplane.desk.email.connection import Endpoint, MailboxConnectionError, open_smtp
from controlplane.errors import CentralaError
from controlplane.models import Tenant
from controlplane.models.desk_mail import DeskMailbox
from controlplane.models.tickets import Ticket, TicketMessage

MAX_REFERENCES = 20
_RE = re.compile(r"^\s*((re|odp|aw|fw|fwd)\s*:\s*)+", re.IGNORECASE)
FOOTER = {
    "pl": "Jak oceniasz naszą pomoc? Oceń odpowiedź (1–5): {link}",
    "en": "How did we do? Rate our answer (1–5): {link}",
}


class DeliveryError(CentralaError):
    """The reply could not be sent (no mailbox, the server refused): the job fails and is
    retried; the message says why, never a password."""

    status = 502
    error_id = "mail_delivery_failed"


def reply_subject(subject: str, number: int) -> str:
    tag = f"[#{number}]"
    bare = _RE.sub("", subject).replace(tag, "").strip()
    return f"Re: {bare} {tag}".replace("  ", " ").strip()


def _mailbox(s: Session, ticket: Ticket, inbound: list[TicketMessage]) -> DeskMailbox | None:
    for msg in reversed(inbound):
        box_id = (msg.meta or {}).get("mailbox_id")
        box = s.get(DeskMailbox, box_id) if isinstance(box_id, int) else None
        if box is not None and box.tenant_id == ticket.tenant_id:
            return box
    return s.scalar(select(DeskMailbox).where(DeskMailbox.tenant_id == ticket.tenant_id,
                                              DeskMailbox.active.is_(True))
                    .order_by(DeskMailbox.id).limit(1))


def build(s: Session, ticket: Ticket, message: TicketMessage, box: DeskMailbox,
          public_url: str) -> EmailMessage:
    """The reply as a MIME message (not sent)."""
    tenant = s.get_one(Tenant, ticket.tenant_id)
    thread = list(s.scalars(select(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.channel == "email",
        TicketMessage.direction.in_(("in", "out")), TicketMessage.id != message.id,
        TicketMessage.external_id.is_not(None)).order_by(TicketMessage.id)))
    last_in = next((m for m in reversed(thread) if m.direction == "in"), None)
    refs = [m.external_id for m in thread if m.external_id and m.external_id.startswith("<")]
    msg = EmailMessage()
    local, _, domain = box.address.partition("@")
    msg["From"] = Address(box.display_name or "", local, domain)
    msg["To"] = ticket.requester
    msg["Subject"] = reply_subject(ticket.subject, ticket.number)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=tenant.domain)
    if last_in is not None and last_in.external_id:
        msg["In-Reply-To"] = last_in.external_id
    if refs:
        msg["References"] = " ".join(refs[-MAX_REFERENCES:])
    body = message.body.rstrip()
    if ticket.status == "solved" and public_url:
        footer = FOOTER.get(tenant.locale, FOOTER["en"])
        body += "\n\n-- \n" + footer.format(link=survey.link(public_url, survey.create(s, ticket)))
    msg.set_content(body + "\n")
    return msg


def smtp_endpoint(settings: Settings, box: DeskMailbox) -> Endpoint:
    return Endpoint(box.smtp_host, box.smtp_port, box.smtp_security,
                    box.smtp_login, vault.decrypt(settings.runtime_dir, box.smtp_password))


def deliver(session: Session, ticket: Ticket, message: TicketMessage, *,
            settings: Settings | None = None) -> str | None:
    """Send ``message`` (an agent's reply on ``ticket``) to the requester; its Message-ID."""
    if message.direction != "out" or not message.body.strip():
        return None
    if message.external_id:
        return message.external_id  # sent already (a retried job)
    settings = settings or load_settings()
    inbound = list(session.scalars(select(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.direction == "in",
        TicketMessage.channel == "email").order_by(TicketMessage.id)))
    box = _mailbox(session, ticket, inbound)
    if box is None:
        raise DeliveryError("no active mailbox to send the reply from (Administration → "
                            "Mailboxes)")
    if "@" not in ticket.requester:
        raise DeliveryError(f"the requester {ticket.requester!r} is not an e-mail address")
    public_url = settings.public_url or f"http://127.0.0.1:{settings.web_port}"
    msg = build(session, ticket, message, box, public_url)
    try:
        endpoint = smtp_endpoint(settings, box)
        conn = open_smtp(endpoint)
        with conn:
            conn.send_message(msg, from_addr=box.address, to_addrs=[ticket.requester])
    except (MailboxConnectionError, vault.VaultError) as err:
        raise DeliveryError(f"reply of ticket {ticket.number} not sent: {err}") from None
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"reply of ticket {ticket.number} not sent: "
                            f"{type(err).__name__}: {err}") from None
    message_id = str(msg["Message-ID"])
    message.external_id = message_id
    message.sender = message.sender or box.address
    session.flush()
    return message_id
