"""Request schemas of the mailboxes API (``/api/v1/mailboxes``), also its OpenAPI description.

These check shape, types and bounds; the rules a mailbox follows (plain only to loopback,
queues of the tenant, the address free) are :mod:`controlplane.desk.email.service`'s and
come back as 422 ``invalid_form``. Passwords are write-only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from web.schemas.common import ONE_LINE, Body, Id

Security = Literal["ssl", "starttls", "plain"]
Host = Annotated[str, Field(min_length=1, max_length=253), ONE_LINE]
Port = Annotated[int, Field(ge=1, le=65535)]
Login = Annotated[str, Field(max_length=320), ONE_LINE]
Secret = Annotated[str, Field(max_length=500), ONE_LINE]


class RuleBody(Body):
    """One routing rule: a new mail whose ``field`` contains ``contains`` (any case) goes
    to ``queue_id``; rules are tried in order, the first match wins."""

    field: Literal["subject", "to", "from"]
    contains: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
    queue_id: Id


class MailboxBody(Body):
    """A mailbox to create or the fields to change. ``imap_password`` is required to create
    one; a password not sent (or empty) keeps the stored one. Ports default by security
    (IMAP 993/143, SMTP 465/587/25). ``plain`` (no encryption) only to a loopback host."""

    address: Annotated[str, Field(max_length=320), ONE_LINE] | None = None
    display_name: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    imap_host: Host | None = None
    imap_port: Port | None = None
    imap_security: Security | None = None
    imap_login: Login | None = None
    imap_password: Secret | None = None
    smtp_host: Host | None = None
    smtp_port: Port | None = None
    smtp_security: Security | None = None
    smtp_login: Login | None = None
    smtp_password: Secret | None = None
    queue_id: Id | None = None
    rules: Annotated[list[RuleBody], Field(max_length=50)] | None = None
    poll_interval_s: Annotated[int, Field(ge=5, le=3600)] | None = None
    active: bool | None = None


class RuleOut(BaseModel):
    field: str
    contains: str
    queue_id: int


class MailboxOut(BaseModel):
    """A mailbox as the API shows it: passwords never, only whether one is set;
    ``last_poll_at`` / ``last_error`` the reader's last poll ("" error: it went fine)."""

    id: int
    address: str
    display_name: str
    imap_host: str
    imap_port: int
    imap_security: str
    imap_login: str
    imap_password_set: bool
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_login: str
    smtp_password_set: bool
    queue_id: int | None
    rules: list[RuleOut]
    poll_interval_s: int
    active: bool
    last_poll_at: str | None
    last_error: str


class MailboxResponse(BaseModel):
    mailbox: MailboxOut


class MailboxList(BaseModel):
    mailboxes: list[MailboxOut]


class MailboxDeleted(BaseModel):
    deleted: int
