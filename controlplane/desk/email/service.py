"""Mailboxes of a tenant: the rules a mailbox's settings follow, shared by pages and API.

:func:`save` checks every value (an address, host names, ports, a security of
``ssl``/``starttls``/``plain`` with ``plain`` only to a loopback host, the queue and the
rules' queues are the tenant's, the address is free in the tenant) and reports every
problem at once by field (:class:`InvalidFields`, 422). Passwords are write-only: stored
encrypted (:mod:`.vault`), an empty one on an update keeps what is stored, and
:func:`mailbox_json` only says whether one is set. Changing the IMAP server or login
resets the reader's place (another folder: its UIDs mean something else).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from controlplane.desk.email import rules, store, vault
from controlplane.desk.email.connection import is_loopback
from controlplane.desk.email.exceptions import FieldIssue, InvalidFields
from controlplane.models.desk_mail import SECURITIES, DeskMailbox

ADDRESS = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,253}$")
DEFAULT_PORTS = {"imap": {"ssl": 993, "starttls": 143, "plain": 143},
                 "smtp": {"ssl": 465, "starttls": 587, "plain": 25}}
TEXT_FIELDS = {"display_name": 200, "imap_login": 320, "smtp_login": 320}
SERVER_FIELDS = ("imap_host", "imap_port", "imap_security", "imap_login")


def mailbox_json(box: DeskMailbox) -> dict[str, Any]:
    return {
        "id": box.id, "address": box.address, "display_name": box.display_name,
        "imap_host": box.imap_host, "imap_port": box.imap_port,
        "imap_security": box.imap_security, "imap_login": box.imap_login,
        "imap_password_set": bool(box.imap_password),
        "smtp_host": box.smtp_host, "smtp_port": box.smtp_port,
        "smtp_security": box.smtp_security, "smtp_login": box.smtp_login,
        "smtp_password_set": bool(box.smtp_password),
        "queue_id": box.queue_id, "rules": list(box.rules or []),
        "poll_interval_s": box.poll_interval_s, "active": box.active,
        "last_poll_at": box.last_poll_at.isoformat() if box.last_poll_at else None,
        "last_error": box.last_error,
    }


def _rule_message(message: str) -> str:
    """A rule problem (:func:`rules.problems`, pure, in English) in the user's language."""
    known = {
        "must be a list": _("must be a list"),
        f"at most {rules.MAX_RULES} rules": _("at most %(n)d rules", n=rules.MAX_RULES),
        "must be an object with field, contains and queue_id":
            _("must be an object with field, contains and queue_id"),
        f"must be one of {', '.join(rules.FIELDS)}":
            _("one of %(values)s", values=", ".join(rules.FIELDS)),
        f"text of 1 to {rules.MAX_TEXT} characters":
            _("text of 1 to %(n)d characters", n=rules.MAX_TEXT),
        "not a queue of this tenant": _("not a queue of this tenant"),
    }
    return str(known.get(message, message))


def _server(values: dict[str, Any], box: DeskMailbox | None, kind: str,
            issues: list[FieldIssue]) -> None:
    host_f, port_f, sec_f = f"{kind}_host", f"{kind}_port", f"{kind}_security"
    host = values.get(host_f, getattr(box, host_f, None) if box else None)
    security = values.get(sec_f) or (getattr(box, sec_f) if box else "ssl")
    if not host or not HOST.match(str(host)):
        issues.append(FieldIssue(host_f, _("a host name or address")))
    if security not in SECURITIES:
        issues.append(FieldIssue(sec_f, _("one of %(values)s", values=", ".join(SECURITIES))))
    elif security == "plain" and host and not is_loopback(str(host)):
        issues.append(FieldIssue(sec_f, _("an unencrypted connection is allowed only to a "
                                          "loopback host (127.0.0.1, ::1, localhost)")))
    port = values.get(port_f)
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        issues.append(FieldIssue(port_f, _("a port from 1 to 65535")))


def _problems(s: Session, tenant_id: int, box: DeskMailbox | None,
              values: dict[str, Any]) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    address = values.get("address", box.address if box else None)
    if not address or not ADDRESS.match(str(address)):
        issues.append(FieldIssue("address", _("an e-mail address")))
    elif store.address_taken(s, tenant_id, str(address).lower(), box.id if box else None):
        issues.append(FieldIssue("address", _("this tenant has a mailbox with this address")))
    for name, top in TEXT_FIELDS.items():
        value = values.get(name)
        if value is not None and len(str(value)) > top:
            issues.append(FieldIssue(name, _("at most %(n)d characters", n=top)))
    _server(values, box, "imap", issues)
    _server(values, box, "smtp", issues)
    if box is None and not values.get("imap_password"):
        issues.append(FieldIssue("imap_password", _("required")))
    queue_ids = {q for q, _name in store.queues(s, tenant_id)}
    queue = values.get("queue_id")
    if queue is not None and queue not in queue_ids:
        issues.append(FieldIssue("queue_id", _("not a queue of this tenant")))
    if "rules" in values and values["rules"] is not None:
        issues += [FieldIssue(f, _rule_message(m))
                   for f, m in rules.problems(values["rules"], queue_ids)]
    every = values.get("poll_interval_s")
    if every is not None and (not isinstance(every, int) or not 5 <= every <= 3600):
        issues.append(FieldIssue("poll_interval_s", _("from 5 to 3600 seconds")))
    return issues


def save(s: Session, runtime_dir: Path, tenant_id: int, box: DeskMailbox | None,
         values: dict[str, Any]) -> DeskMailbox:
    """Create (``box`` None) or change a mailbox with the fields in ``values``."""
    issues = _problems(s, tenant_id, box, values)
    if issues:
        raise InvalidFields(issues)
    if box is None:
        box = DeskMailbox(tenant_id=tenant_id, rules=[], last_uid=0, last_error="",
                          display_name="", imap_login="", smtp_login="", imap_password="",
                          smtp_password="", poll_interval_s=30, active=True,
                          imap_security="ssl", smtp_security="ssl")
        s.add(box)
    before = tuple(getattr(box, f, None) for f in SERVER_FIELDS)
    for name, value in values.items():
        if name in ("imap_password", "smtp_password"):
            if value:  # empty: keep the stored one
                setattr(box, name, vault.encrypt(runtime_dir, str(value)))
        elif name == "address":
            box.address = str(value).lower()
        elif name == "rules":
            box.rules = list(value or [])
        elif name in TEXT_FIELDS:
            setattr(box, name, str(value or "").strip())
        elif value is not None or name == "queue_id":
            setattr(box, name, value)
    for kind in ("imap", "smtp"):
        if getattr(box, f"{kind}_port", None) is None or (
                f"{kind}_security" in values and f"{kind}_port" not in values):
            setattr(box, f"{kind}_port", DEFAULT_PORTS[kind][getattr(box, f"{kind}_security")])
    if box.id is not None and before != tuple(getattr(box, f) for f in SERVER_FIELDS):
        box.uidvalidity, box.last_uid = None, 0  # another folder: start from its unseen mail
    s.flush()
    return box
