"""RQ job: mail a single-use link (activation or password reset) to its user.

Queued through the outbox (:mod:`controlplane.jobs.outbox`): the link row and the job's
outbox row are written in one transaction (:func:`controlplane.tenants.store.request_link`),
so no mail is lost between the commit and the queue; the control plane's drain (or the
CLI, at once) queues it. Takes the link row's id (STYLE.md §7).

The secret is drawn here, not when the link is asked for, so it exists only in the mail:
the row keeps its SHA-256 and expiry. Safe to retry: a link already mailed, used or
replaced is not mailed again; a run that failed before ``sent_at`` draws a fresh secret
(a mail that did leave with the old one then holds a dead link, and the next one works).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.mail.send import send_mail
from controlplane.models import Tenant, User
from controlplane.models.base import utcnow
from controlplane.models.user_tokens import UserToken
from controlplane.tenants import mails, tokens

log = logging.getLogger(__name__)


def send_link(link_id: int) -> str:
    """The job: mail link ``link_id``; returns what happened (RQ keeps it as the result)."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        return deliver(settings, make_sessionmaker(engine), link_id)
    finally:
        engine.dispose()


def deliver(settings: Settings, factory: sessionmaker[Session], link_id: int) -> str:
    now = utcnow()
    with transaction(factory) as s:
        row = s.get(UserToken, link_id)
        if row is None or row.used_at is not None or row.sent_at is not None:
            return "skipped"
        user = s.get(User, row.user_id)
        tenant = s.get(Tenant, row.tenant_id)
        if user is None or tenant is None or not user.email:
            return "skipped"
        purpose = tokens.Purpose(row.purpose)
        secret = tokens.new_secret()
        row.token_hash = tokens.hash_secret(secret)
        row.expires_at = now + tokens.LIFETIME[purpose]
        to, locale, user_id = user.email, user.locale or tenant.locale, user.id
        text = mails.render(purpose, locale, tenant=tenant.name, address=user.address,
                            link=tokens.link(settings.public_url, purpose, secret))
    send_mail(settings, to, text.subject, text.body)  # raises: RQ marks the job failed
    with transaction(factory) as s:
        sent = s.get(UserToken, link_id)
        if sent is not None:
            sent.sent_at = utcnow()
    log.info("mailed %s link %d to user %d", purpose.value, link_id, user_id)
    return "sent"
