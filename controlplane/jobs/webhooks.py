"""RQ jobs of the webhooks: one delivery attempt, and the mail when a subscription is
auto-disabled.

:func:`deliver` takes ids (STYLE.md §7) and is idempotent: it acts only if the delivery
still wants attempt ``attempt + 1`` and records its result with a compare-and-set on the
attempt count, so a duplicate job costs at most one extra POST (receivers dedupe on the
event id). The target is checked again before every attempt (DNS rebinding) and the
request goes to the address checked (:mod:`controlplane.webhooks.transport`). The
signature and its timestamp are computed anew for each attempt.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import outbox
from controlplane.mail.send import send_mail
from controlplane.models.base import utcnow
from controlplane.models.tenancy import Role, Tenant, User
from controlplane.models.webhooks import WebhookSubscription
from controlplane.webhooks import events, store
from controlplane.webhooks.exceptions import InvalidTarget
from controlplane.webhooks.transport import Answer, post, resolve_target

log = logging.getLogger(__name__)


def deliver(delivery_id: int, attempt: int, database_url: str | None = None) -> str:
    """Make attempt ``attempt + 1`` of a delivery; returns what happened (for the log)."""
    settings = load_settings()
    engine = make_engine(database_url or settings.database_url)
    try:
        return attempt_once(make_sessionmaker(engine), delivery_id, attempt,
                            settings.webhooks_allow_private)
    finally:
        engine.dispose()


def attempt_once(factory: sessionmaker[Session], delivery_id: int, attempt: int,
                 allow_private: bool) -> str:
    with factory() as s:
        work = store.work(s, delivery_id, attempt)
    if work is None:
        return "skipped"
    now = utcnow()
    timestamp = int(now.timestamp())
    body = events.envelope(work.event_uuid, work.event_type, work.created_at, work.tenant,
                           work.data)
    try:
        target = resolve_target(work.url, allow_private)
        answer = post(target, body, events.headers(work.secret, work.event_uuid,
                                                   timestamp, body))
    except InvalidTarget as err:
        answer = Answer(None, f"refused: {err.message}", 0, "")
    disabled = _record(factory, work, attempt, now, answer)
    if disabled is not None:
        spec = outbox.make_spec(notify_disabled, (disabled,),
                                job_id=f"webhook-disabled-{disabled}-{timestamp}")
        outbox.keep(factory, spec)  # the daemon's drain queues it (the worker may not)
    result = "delivered" if answer.ok else f"failed ({answer.status or answer.error})"
    log.info("webhook delivery %s attempt %d: %s", delivery_id, attempt + 1, result)
    return result


def _record(factory: sessionmaker[Session], work: store.Work, attempt: int, now: datetime,
            answer: Answer) -> int | None:
    """Store the attempt and what follows; the subscription's id if it was disabled now."""
    with transaction(factory) as s:
        d = store.claim_result(s, work.delivery_id, attempt)
        if d is None:
            return None  # another job recorded this attempt already
        store.log_attempt(s, d.id, attempt + 1, now, answer.status, answer.error,
                          answer.duration_ms, answer.excerpt)
        sub = s.get(WebhookSubscription, work.subscription_id)
        assert sub is not None
        d.leased_until, d.last_status, d.last_error = None, answer.status, answer.error[:300]
        if answer.ok:
            d.state, d.delivered_at, d.next_attempt_at = "delivered", now, None
            sub.consecutive_failures, sub.failing_since = 0, None
            return None
        if events.is_dead(d.retry_since, now):
            d.state, d.next_attempt_at = "dead", None
        else:
            delay = events.retry_delay_s(d.attempts, random.random())
            d.next_attempt_at = now + timedelta(seconds=delay)
        sub.consecutive_failures += 1
        sub.failing_since = sub.failing_since or now
        if sub.active and events.should_disable(sub.consecutive_failures, sub.failing_since,
                                                now):
            sub.active, sub.disabled_at = False, now
            sub.disabled_reason = (f"{sub.consecutive_failures} failed attempts in a row "
                                   f"since {sub.failing_since.isoformat(timespec='seconds')}")
            return sub.id
        return None


def notify_disabled(subscription_id: int, database_url: str | None = None) -> int:
    """Mail the tenant's active admins who have an e-mail address that a webhook was
    disabled; returns how many."""
    settings = load_settings()
    engine = make_engine(database_url or settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            sub = s.get(WebhookSubscription, subscription_id)
            if sub is None:
                return 0
            tenant = s.get(Tenant, sub.tenant_id)
            admins = list(s.scalars(select(User).where(User.tenant_id == sub.tenant_id,
                                                       User.role == Role.ADMIN,
                                                       User.active.is_(True))))
            domain = tenant.domain if tenant else ""
            to = [u.email for u in admins if u.email]
            subject = f"Webhook disabled: {sub.url}"
            text = (f"The webhook {sub.url} ({sub.description or 'no description'}) of "
                    f"{domain} was disabled after repeated failed deliveries: "
                    f"{sub.disabled_reason}.\n\nFix the receiver, then enable it again in "
                    "the panel (Webhooks); failed deliveries can be replayed from its log.\n")
        return _send(settings, to, subject, text)
    finally:
        engine.dispose()


def _send(settings: Settings, to: list[str], subject: str, text: str) -> int:
    if not to:
        log.warning("webhook-disabled mail not sent: no administrator has an e-mail address")
        return 0
    for address in to:
        send_mail(settings, address, subject, text)
    return len(to)
