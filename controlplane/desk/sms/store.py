"""The SMS channel's SQL: the tenant's account, its templates, the auto-reply log, and the
ticket messages a delivery report is about. Tenant-scoped; nothing here commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.desk.sms.exceptions import UnknownAccount
from controlplane.errors import NotFound
from controlplane.models.sms import DeskSmsAccount, DeskSmsAutoReply, DeskSmsTemplate
from controlplane.models.tickets import TicketMessage


def account_of(s: Session, tenant_id: int) -> DeskSmsAccount | None:
    return s.scalar(select(DeskSmsAccount).where(DeskSmsAccount.tenant_id == tenant_id))


def account_by_public_id(s: Session, public_id: str) -> DeskSmsAccount:
    """The active account an inbound post names; :class:`UnknownAccount` otherwise (an
    inactive account is unknown too: its gateway learns to stop)."""
    row = s.scalar(select(DeskSmsAccount).where(DeskSmsAccount.public_id == public_id,
                                                DeskSmsAccount.active))
    if row is None:
        raise UnknownAccount("no SMS account at this address")
    return row


def templates(s: Session, tenant_id: int) -> list[DeskSmsTemplate]:
    return list(s.scalars(select(DeskSmsTemplate).where(DeskSmsTemplate.tenant_id == tenant_id)
                          .order_by(DeskSmsTemplate.name)))


def template(s: Session, tenant_id: int, template_id: int) -> DeskSmsTemplate:
    row = s.get(DeskSmsTemplate, template_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no SMS template {template_id}")
    return row


def template_named(s: Session, tenant_id: int, name: str) -> DeskSmsTemplate | None:
    return s.scalar(select(DeskSmsTemplate).where(DeskSmsTemplate.tenant_id == tenant_id,
                                                  DeskSmsTemplate.name == name))


def auto_reply_row(s: Session, tenant_id: int, number: str) -> DeskSmsAutoReply | None:
    return s.scalar(select(DeskSmsAutoReply).where(DeskSmsAutoReply.tenant_id == tenant_id,
                                                   DeskSmsAutoReply.number == number))


def note_auto_reply(s: Session, tenant_id: int, number: str, now: datetime) -> None:
    row = auto_reply_row(s, tenant_id, number)
    if row is None:
        s.add(DeskSmsAutoReply(tenant_id=tenant_id, number=number, sent_at=now))
    else:
        row.sent_at = now
    s.flush()


def message_by_external_id(s: Session, tenant_id: int, external_id: str) -> TicketMessage | None:
    return s.scalar(select(TicketMessage).where(TicketMessage.tenant_id == tenant_id,
                                                TicketMessage.external_id == external_id))
