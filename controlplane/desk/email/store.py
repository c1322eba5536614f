"""The e-mail channel's SQL: a tenant's mailboxes and its queues (every query tenant-scoped)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.desk.email.exceptions import MailboxNotFound
from controlplane.models.acd import Queue
from controlplane.models.desk_mail import DeskMailbox


def mailboxes(s: Session, tenant_id: int) -> list[DeskMailbox]:
    return list(s.scalars(select(DeskMailbox).where(DeskMailbox.tenant_id == tenant_id)
                          .order_by(DeskMailbox.address)))


def mailbox(s: Session, tenant_id: int, mailbox_id: int) -> DeskMailbox:
    box = s.scalar(select(DeskMailbox).where(DeskMailbox.tenant_id == tenant_id,
                                             DeskMailbox.id == mailbox_id))
    if box is None:
        raise MailboxNotFound(f"no mailbox {mailbox_id}")
    return box


def queues(s: Session, tenant_id: int) -> list[tuple[int, str]]:
    return [(q.id, q.name) for q in s.scalars(
        select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.name))]


def address_taken(s: Session, tenant_id: int, address: str, except_id: int | None) -> bool:
    found = s.scalar(select(DeskMailbox.id).where(DeskMailbox.tenant_id == tenant_id,
                                                  DeskMailbox.address == address))
    return found is not None and found != except_id
