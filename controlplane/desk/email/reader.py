"""Read one mailbox over IMAP into tickets.

Theory of operation. The mailbox row keeps the reader's place: ``uidvalidity`` and
``last_uid``. IMAP UIDs only grow while the folder's UIDVALIDITY stays the same, so each
poll asks for ``UID last_uid+1:*`` and handles the mails in UID order, each in its own
transaction that both threads the mail into a ticket (:func:`controlplane.desk.threads.receive`)
and moves ``last_uid`` past it: a reader killed at any point resumes after the last mail it
recorded, and never reads one twice. (``receive`` is idempotent by Message-ID anyway, so a
mail recorded whose place was lost would still add nothing.) On the first poll, or when the
server reports another UIDVALIDITY (the folder was rebuilt), the reader starts from the
UNSEEN mails instead of importing the folder's whole history. A mail recorded is then
flagged ``\\Seen`` on the server, for the people who also read the mailbox by hand.

A new ticket goes to the queue of the mailbox's first matching rule
(:mod:`controlplane.desk.email.rules`), else to the mailbox's queue. Attachments are kept as
files under ``<runtime>/desk/attachments/<tenant>/<ticket>/`` (0600 in 0700 folders) and
listed in the message's ``meta`` (name, type, size, file). Auto-replies and bounces are
recorded with ``meta.automatic`` saying why: nothing may answer them automatically. Mail
from the mailbox's own address (a copy of our own reply) is skipped.

Each poll reads at most :data:`BATCH` mails; the next poll continues.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.desk import threads
from controlplane.desk.email import parse, rules, vault
from controlplane.desk.email.connection import Endpoint, MailboxConnectionError, open_imap
from controlplane.models.base import utcnow
from controlplane.models.desk_mail import ERROR_MAX, DeskMailbox
from controlplane.models.tickets import Ticket, TicketMessage

log = logging.getLogger(__name__)

BATCH = 50
MAX_MAIL_BYTES = 30 * 1024 * 1024


@dataclass(frozen=True)
class Polled:
    read: int = 0  # mails recorded (duplicates included)
    created: int = 0  # new tickets
    error: str = ""


def imap_endpoint(runtime_dir: Path, box: DeskMailbox) -> Endpoint:
    return Endpoint(box.imap_host, box.imap_port, box.imap_security,
                    box.imap_login or box.address, vault.decrypt(runtime_dir, box.imap_password))


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "attachment"
    return cleaned[:100]


def store_attachments(runtime_dir: Path, tenant_id: int, ticket_id: int, message_id: int,
                      files: tuple[parse.Attachment, ...]) -> list[dict[str, Any]]:
    """Write a message's attachments; returns their entries for the message's meta."""
    if not files:
        return []
    folder = runtime_dir / "desk" / "attachments" / str(tenant_id) / str(ticket_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    out = []
    for i, f in enumerate(files):
        path = folder / f"{message_id}-{i}-{_safe_name(f.name)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out_file:
            out_file.write(f.data)
        out.append({"name": f.name, "type": f.content_type, "size": f.size,
                    "file": str(path.relative_to(runtime_dir))})
    return out


def record(s: Session, runtime_dir: Path, box: DeskMailbox,
           mail: parse.ParsedMail) -> threads.Received | None:
    """Thread one parsed mail of ``box`` into a ticket (None: skipped, our own mail)."""
    if mail.sender == box.address.lower():
        return None
    meta: dict[str, Any] = {"mailbox_id": box.id, "to": list(mail.to), "cc": list(mail.cc),
                            "attachments": [{"name": f.name, "type": f.content_type,
                                             "size": f.size} for f in mail.attachments]}
    if mail.automatic:
        meta["automatic"] = mail.automatic
    got = threads.receive(s, threads.Inbound(
        tenant_id=box.tenant_id, channel="email", sender=mail.sender or "unknown@invalid",
        body=mail.text, subject=mail.subject, sender_name=mail.sender_name,
        external_id=mail.message_id, reply_to=mail.reply_to, meta=meta))
    if got.created:
        ticket = s.get_one(Ticket, got.ticket_id)
        ticket.queue_id = rules.route(
            box.rules or [], rules.Facts(mail.subject, mail.sender, mail.to + mail.cc),
            box.queue_id)
    if got.message_id is not None and mail.attachments:
        row = s.get_one(TicketMessage, got.message_id)
        row.meta = {**row.meta, "attachments": store_attachments(
            runtime_dir, box.tenant_id, got.ticket_id, got.message_id, mail.attachments)}
    return got


def _fetch(conn: imaplib.IMAP4, uid: str) -> bytes | None:
    typ, data = conn.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[])")
    if typ != "OK":
        return None
    for part in data:
        if isinstance(part, tuple) and len(part[1]) <= MAX_MAIL_BYTES:
            return bytes(part[1])
    return None


def _uidvalidity(conn: imaplib.IMAP4) -> int | None:
    """The folder's UIDVALIDITY, which SELECT reported as a response code."""
    for value in conn.response("UIDVALIDITY")[1] or []:
        if isinstance(value, bytes) and value.strip().isdigit():
            return int(value)
    return None


def _uids(conn: imaplib.IMAP4, start_after: int | None) -> list[int]:
    if start_after is None:
        typ, data = conn.uid("SEARCH", "UNSEEN")
    else:
        typ, data = conn.uid("SEARCH", f"UID {start_after + 1}:*")
    if typ != "OK":
        raise MailboxConnectionError("the IMAP server refused the search")
    found = sorted(int(u) for u in (data[0] or b"").split())
    # "N:*" always matches the newest mail, even when its UID is below N
    return [u for u in found if start_after is None or u > start_after]


def poll(factory: sessionmaker[Session], runtime_dir: Path, mailbox_id: int) -> Polled:
    """Read what is new in one mailbox; the outcome is also stored on the mailbox row."""
    with factory() as s:
        box = s.get(DeskMailbox, mailbox_id)
        if box is None or not box.active:
            return Polled()
        try:
            endpoint = imap_endpoint(runtime_dir, box)
        except vault.VaultError as err:
            return _finish(factory, mailbox_id, Polled(error=str(err)))
        known_validity, last_uid = box.uidvalidity, box.last_uid
    read = created = 0
    try:
        conn = open_imap(endpoint)
        try:
            typ, _ = conn.select("INBOX")
            if typ != "OK":
                raise MailboxConnectionError("INBOX cannot be opened")
            validity = _uidvalidity(conn)
            fresh = validity is None or validity != known_validity
            uids = _uids(conn, None if fresh else last_uid)[:BATCH]
            if fresh:
                with transaction(factory) as s:
                    row = s.get_one(DeskMailbox, mailbox_id)
                    row.uidvalidity, row.last_uid = validity, 0
            for uid in uids:
                raw = _fetch(conn, str(uid))
                with transaction(factory) as s:
                    row = s.get_one(DeskMailbox, mailbox_id)
                    if raw is not None:
                        got = record(s, runtime_dir, row, parse.parse(raw))
                        read += 1
                        created += int(bool(got and got.created))
                    row.last_uid = max(row.last_uid, uid)
                conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()
    except (MailboxConnectionError, OSError, imaplib.IMAP4.error) as err:
        log.warning("mailbox %s: %s", mailbox_id, err)
        return _finish(factory, mailbox_id, Polled(read, created, str(err) or type(err).__name__))
    return _finish(factory, mailbox_id, Polled(read, created))


def _finish(factory: sessionmaker[Session], mailbox_id: int, out: Polled) -> Polled:
    with transaction(factory) as s:
        row = s.get(DeskMailbox, mailbox_id)
        if row is not None:
            row.last_poll_at = utcnow()
            row.last_error = out.error[:ERROR_MAX]
    return out
