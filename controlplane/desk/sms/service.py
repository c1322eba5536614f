"""The SMS channel's rules: the account's settings, templates, and what an inbound SMS does.

Theory of operation
-------------------
*Settings.* :func:`save_account` checks every value (the sender ID is alphanumeric, 1–11
characters with a letter, or an E.164 number; the numbers are E.164; the API URL is http(s);
the queue is the tenant's; texts use known parameters only) and reports every problem with
its field (:class:`~controlplane.admin.exceptions.InvalidFields`, 422 ``invalid_form``, as
every admin form). The API key is write-only: an empty one keeps the stored key. The
inbound secret is generated with the account and by :func:`regenerate_secret`; both return
it in clear exactly once (the page shows it, then only that it is set).

*Inbound.* :func:`receive` threads the SMS into a ticket through
:func:`controlplane.desk.threads.receive` (idempotent by ``sms:<provider>:<id>``; one
sender's SMS join their newest ticket that is not closed) and puts a new ticket in the
account's queue. A **new** ticket gets the auto-reply when it is on, the sender is a number
(an alphanumeric sender cannot be answered, and is usually a machine), and that number had
no auto-reply within ``auto_reply_quiet_hours``: two auto-responders never talk for long.
The auto-reply is not sent here: its job waits in the outbox, in the same transaction as
the ticket (the gateway's post is answered at once; the control plane queues the job).
"""

from __future__ import annotations

import re
import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.desk import threads
from controlplane.desk.sms import providers, secrets, store, texts
from controlplane.desk.sms.segments import count
from controlplane.jobs import outbox
from controlplane.models.acd import Queue
from controlplane.models.outbox import JobOutbox
from controlplane.models.sms import (
    AUTO_REPLY_MAX,
    TEMPLATE_BODY_MAX,
    DeskSmsAccount,
    DeskSmsTemplate,
)
from controlplane.models.tickets import Ticket

AUTO_REPLY_JOB = "controlplane.jobs.sms.auto_reply"
AUTO_REPLY_RETRY = {"max": 5, "interval": [10, 60, 300, 900, 3600]}
ALNUM_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")
NUMBERS_MAX = 20
QUIET_HOURS_MAX = 24 * 30


@dataclass(frozen=True)
class Saved:
    account: DeskSmsAccount
    inbound_secret: str | None  # in clear when generated now (shown once), else None


def sender_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a sender ID (None: it can)."""
    if value.startswith("+") or value.isdigit():
        return None if _e164(value) else _("a number in international form, e.g. +48500100200")
    if not ALNUM_SENDER.fullmatch(value) or not any(c.isalpha() for c in value):
        return _("1 to 11 letters, digits, spaces or . - _ &, with at least one letter "
                 "(no Polish letters), or a number")
    return None


def _e164(raw: str) -> str | None:
    text = raw.strip().replace(" ", "").replace("-", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _numbers(raw: Any, issues: list[FieldIssue]) -> list[str]:
    items = raw if isinstance(raw, list) else re.split(r"[,;\n]", str(raw or ""))
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        found = _e164(item)
        if found is None:
            issues.append(FieldIssue("numbers", _("%(number)s is not a valid number in "
                                                  "international form", number=item)))
        elif found not in out:
            out.append(found)
    if len(out) > NUMBERS_MAX:
        issues.append(FieldIssue("numbers", _("at most %(n)d numbers", n=NUMBERS_MAX)))
    return out


def _text_issue(field: str, text: str, top: int) -> FieldIssue | None:
    if len(text) > top:
        return FieldIssue(field, _("at most %(n)d characters", n=top))
    unknown = texts.check(text)
    if unknown:
        return FieldIssue(field, _("unknown parameters: %(names)s; known: %(known)s",
                                   names=", ".join(unknown), known=", ".join(texts.PARAMETERS)))
    return None


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _port = parts.port  # a bad port raises here
    except ValueError:  # "http://[::1" and the like
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "on", "true", "yes")


def save_account(s: Session, tenant_id: int, values: Mapping[str, Any],
                 runtime_dir: Path) -> Saved:
    """Create or change the tenant's account from the given ``values`` (absent: kept)."""
    row = store.account_of(s, tenant_id)
    issues: list[FieldIssue] = []
    given = dict(values)
    provider = str(given.get("provider") or (row.provider if row else "http"))
    if provider not in providers.KINDS:
        issues.append(FieldIssue("provider", _("one of: %(kinds)s",
                                                kinds=", ".join(providers.KINDS))))
    api_url = str(given.get("api_url") if "api_url" in given else (row.api_url if row else "")
                  or "").strip()
    if api_url and not _http_url(api_url):
        issues.append(FieldIssue("api_url", _("an address starting with http:// or https://")))
    sender = str(given.get("sender_id") if "sender_id" in given
                 else (row.sender_id if row else "") or "").strip()
    problem = sender_id_problem(sender) if sender else _("required")
    if problem:
        issues.append(FieldIssue("sender_id", problem))
    elif sender.startswith("+") or sender.isdigit():
        sender = _e164(sender) or sender
    numbers = (_numbers(given["numbers"], issues) if "numbers" in given
               else list(row.numbers) if row else [])
    queue_id = given.get("queue_id") if "queue_id" in given else (row.queue_id if row else None)
    if queue_id in ("", None):
        queue_id = None
    else:
        try:
            queue_id = int(queue_id)
        except (TypeError, ValueError):
            queue_id = -1
        if s.scalar(select(Queue.id).where(Queue.id == queue_id,
                                           Queue.tenant_id == tenant_id)) is None:
            issues.append(FieldIssue("queue_id", _("no such queue in your tenant")))
    reply_text = str(given.get("auto_reply_text") if "auto_reply_text" in given
                     else (row.auto_reply_text if row else "") or "")
    reply_on = (_flag(given["auto_reply_enabled"]) if "auto_reply_enabled" in given
                else bool(row and row.auto_reply_enabled))
    issue = _text_issue("auto_reply_text", reply_text, AUTO_REPLY_MAX)
    if issue:
        issues.append(issue)
    if reply_on and not reply_text.strip():
        issues.append(FieldIssue("auto_reply_text", _("write the auto-reply or switch it off")))
    quiet = given.get("auto_reply_quiet_hours")
    if quiet in (None, ""):
        quiet = row.auto_reply_quiet_hours if row else 24
    try:
        quiet = int(quiet)
        if not 1 <= quiet <= QUIET_HOURS_MAX:
            raise ValueError
    except (TypeError, ValueError):
        issues.append(FieldIssue("auto_reply_quiet_hours",
                                 _("a whole number of hours from 1 to %(n)d", n=QUIET_HOURS_MAX)))
        quiet = 24
    if issues:
        raise InvalidFields(issues)
    secret: str | None = None
    if row is None:
        secret = random.token_urlsafe(32)
        row = DeskSmsAccount(tenant_id=tenant_id, public_id=random.token_urlsafe(18),
                             inbound_secret_enc=secrets.encrypt(runtime_dir, secret))
        s.add(row)
    row.provider, row.api_url, row.sender_id, row.numbers = provider, api_url, sender, numbers
    row.queue_id, row.auto_reply_text, row.auto_reply_enabled = queue_id, reply_text, reply_on
    row.auto_reply_quiet_hours = quiet
    if "active" in given:
        row.active = _flag(given["active"])
    if given.get("api_key"):
        row.api_key_enc = secrets.encrypt(runtime_dir, str(given["api_key"]))
    s.flush()
    return Saved(row, secret)


def regenerate_secret(s: Session, row: DeskSmsAccount, runtime_dir: Path) -> str:
    """A new inbound secret (the old one stops working now), in clear, once."""
    secret = random.token_urlsafe(32)
    row.inbound_secret_enc = secrets.encrypt(runtime_dir, secret)
    s.flush()
    return secret


def account_json(row: DeskSmsAccount) -> dict[str, Any]:
    """The account as the page and the API show it: never a secret, only whether it is set."""
    return {"id": row.id, "provider": row.provider, "api_url": row.api_url,
            "api_key_set": bool(row.api_key_enc), "inbound_path": f"/sms/inbound/{row.public_id}",
            "numbers": list(row.numbers), "sender_id": row.sender_id, "queue_id": row.queue_id,
            "auto_reply_enabled": row.auto_reply_enabled, "auto_reply_text": row.auto_reply_text,
            "auto_reply_segments": count(row.auto_reply_text).to_json(),
            "auto_reply_quiet_hours": row.auto_reply_quiet_hours, "active": row.active}


def provider_of(row: DeskSmsAccount, runtime_dir: Path, allow_private: bool) -> providers.Provider:
    return providers.build(row.provider, row.api_url, secrets.decrypt(runtime_dir, row.api_key_enc),
                           secrets.decrypt(runtime_dir, row.inbound_secret_enc),
                           allow_private=allow_private)


# --- templates ---------------------------------------------------------------------------


def save_template(s: Session, tenant_id: int, row: DeskSmsTemplate | None,
                  values: Mapping[str, Any]) -> DeskSmsTemplate:
    name = str(values.get("name") if "name" in values else (row.name if row else "") or "").strip()
    body = str(values.get("body") if "body" in values else (row.body if row else "") or "")
    issues: list[FieldIssue] = []
    if not name or len(name) > 100:
        issues.append(FieldIssue("name", _("1 to 100 characters")))
    else:
        other = store.template_named(s, tenant_id, name)
        if other is not None and other is not row:
            issues.append(FieldIssue("name", _("a template named %(name)s exists", name=name)))
    issue = _text_issue("body", body, TEMPLATE_BODY_MAX)
    if issue:
        issues.append(issue)
    elif not body.strip():
        issues.append(FieldIssue("body", _("required")))
    if issues:
        raise InvalidFields(issues)
    if row is None:
        row = DeskSmsTemplate(tenant_id=tenant_id)
        s.add(row)
    row.name, row.body = name, body
    s.flush()
    return row


def template_json(row: DeskSmsTemplate) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "body": row.body,
            "parameters": texts.names(row.body), "segments": count(row.body).to_json()}


# --- inbound -----------------------------------------------------------------------------


def external_id(kind: str, provider_id: str) -> str:
    """A provider's message id as the ticket message's ``external_id``."""
    return f"sms:{kind}:{provider_id}"


def receive(s: Session, account: DeskSmsAccount, sms: providers.InboundSms,
            now: datetime) -> threads.Received:
    """Thread ``sms`` into a ticket; queue the auto-reply's job when it is due."""
    got = threads.receive(s, threads.Inbound(
        tenant_id=account.tenant_id, channel="sms", sender=sms.sender, body=sms.text,
        external_id=external_id(account.provider, sms.provider_id), thread_key=True,
        meta={"to": sms.recipient, "sms": {"provider_id": sms.provider_id}},
        at=sms.received_at))
    if got.created and account.queue_id is not None:
        s.get_one(Ticket, got.ticket_id).queue_id = account.queue_id
    if got.created and _auto_reply_due(s, account, sms.sender, now):
        spec = outbox.make_spec(AUTO_REPLY_JOB, (got.ticket_id,),
                                job_id=f"sms-auto-reply-{got.ticket_id}",
                                options={outbox.RETRY: AUTO_REPLY_RETRY})
        s.add(JobOutbox(job_id=spec.job_id, queue=spec.queue, func=spec.func,
                        args=list(spec.args), kwargs={}, options=dict(spec.options),
                        created_at=now))
    s.flush()
    return got


def _auto_reply_due(s: Session, account: DeskSmsAccount, number: str, now: datetime) -> bool:
    if not (account.auto_reply_enabled and account.auto_reply_text.strip()
            and number.startswith("+")):
        return False
    last = store.auto_reply_row(s, account.tenant_id, number)
    if last is not None and now - last.sent_at < timedelta(hours=account.auto_reply_quiet_hours):
        return False
    try:
        with s.begin_nested():  # two posts from one number at once: one auto-reply
            store.note_auto_reply(s, account.tenant_id, number, now)
    except IntegrityError:
        return False
    return True


def apply_status(s: Session, account: DeskSmsAccount, report: providers.StatusReport) -> bool:
    """Record a delivery report on the message it is about; False if none is known."""
    row = store.message_by_external_id(s, account.tenant_id,
                                       external_id(account.provider, report.provider_id))
    if row is None:
        return False
    meta = dict(row.meta or {})
    meta["sms"] = {**dict(meta.get("sms") or {}), "status": report.status,
                   "status_at": report.at.isoformat()}
    row.meta = meta  # a new dict: the JSON column sees the change
    s.flush()
    return True
