"""SMS that leave the platform: an agent's reply on an SMS ticket, and the auto-reply.

Theory of operation: both go out through the tenant's provider
(:func:`controlplane.desk.sms.service.provider_of`), to the ticket's requester, from the
account's sender ID, and are called from RQ jobs (never inside a panel request: the
provider may be slow). :func:`deliver` is what the ticket reply job calls for one ``out``
message; :func:`send_auto_reply` is the auto-reply job's work
(:mod:`controlplane.jobs.sms`). Each records on the message ``external_id =
sms:<provider>:<id>`` (delivery reports find it by that) and ``meta["sms"]`` (provider id,
status, segments, sender ID).

Idempotent: a message that already carries its provider id is not sent again, and a
ticket that has its auto-reply gets no second one. A provider failure raises
:class:`~controlplane.desk.sms.exceptions.ProviderFailed` so the job is retried; a send
that succeeded but whose commit was lost is sent again on retry (at least once: the
provider's own deduplication by ``reference`` is the last guard).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings, load_settings
from controlplane.desk.sms import service, store, texts
from controlplane.desk.sms.exceptions import NotConfigured
from controlplane.desk.sms.segments import count
from controlplane.models.base import utcnow
from controlplane.models.sms import DeskSmsAccount
from controlplane.models.tenancy import Tenant
from controlplane.models.tickets import Ticket, TicketMessage


def _account(s: Session, tenant_id: int) -> DeskSmsAccount:
    row = store.account_of(s, tenant_id)
    if row is None or not row.active or not row.api_url:
        raise NotConfigured("the tenant has no active SMS account with an API URL")
    if not row.sender_id:
        raise NotConfigured("the SMS account has no sender ID")
    return row


def _send(s: Session, account: DeskSmsAccount, to: str, text: str, reference: str,
          settings: Settings) -> tuple[str, dict[str, Any]]:
    if not to.startswith("+"):
        raise NotConfigured(f"cannot send an SMS to {to!r}: not a phone number")
    provider = service.provider_of(account, settings.runtime_dir,
                                   settings.webhooks_allow_private)
    provider_id = provider.send(to, text, account.sender_id, reference)
    meta = {"provider_id": provider_id, "status": "accepted", "to": to,
            "sender_id": account.sender_id, "segments": count(text).segments}
    return provider_id, meta


def deliver(session: Session, ticket: Ticket, message: TicketMessage,
            settings: Settings | None = None) -> str | None:
    """Send ``message`` (an agent's ``out`` reply on ``ticket``) as an SMS to the ticket's
    requester; the provider's message id (None when there is nothing to send: a note).
    Sets the message's ``external_id`` and ``meta["sms"]``; the caller commits."""
    if message.direction != "out":
        return None
    sent = dict(message.meta or {}).get("sms") or {}
    if sent.get("provider_id"):
        return str(sent["provider_id"])  # sent before (a retried job)
    settings = settings or load_settings()
    account = _account(session, ticket.tenant_id)
    provider_id, meta = _send(session, account, ticket.requester, message.body,
                              f"ticket-{ticket.number}-message-{message.id}", settings)
    message.meta = {**dict(message.meta or {}), "sms": meta}
    if message.external_id is None:
        message.external_id = service.external_id(account.provider, provider_id)
    session.flush()
    return provider_id


def send_auto_reply(session: Session, ticket_id: int, settings: Settings | None = None) -> str:
    """Send the auto-reply of a new ticket; what happened (for the job's log)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return "no such ticket"
    done = session.scalars(select(TicketMessage.meta).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.direction == "out")).all()
    if any(dict(m or {}).get("auto_reply") for m in done):
        return "sent before"
    settings = settings or load_settings()
    account = _account(session, ticket.tenant_id)
    if not account.auto_reply_enabled:
        return "auto-reply switched off"
    tenant = session.get_one(Tenant, ticket.tenant_id)
    text = texts.render(account.auto_reply_text, {
        "ticket_number": ticket.number, "customer_number": ticket.requester,
        "company": tenant.name, "agent_name": ""})
    provider_id, meta = _send(session, account, ticket.requester, text,
                              f"ticket-{ticket.number}-auto-reply", settings)
    session.add(TicketMessage(
        tenant_id=ticket.tenant_id, ticket_id=ticket.id, direction="out", channel="sms",
        sender=account.sender_id, body=text,
        external_id=service.external_id(account.provider, provider_id),
        meta={"auto_reply": True, "sms": meta}, created_at=utcnow()))
    session.flush()
    return f"sent ({provider_id})"
