"""RQ job of the SMS channel: the auto-reply of a new SMS ticket.

The inbound webhook leaves this job in the outbox, in the ticket's own transaction
(:func:`controlplane.desk.sms.service.receive`); the control plane queues it. It takes the
ticket's id (STYLE.md §7) and is idempotent (:func:`controlplane.desk.sms.outgoing.
send_auto_reply` sends nothing to a ticket that has its auto-reply). A provider failure
raises, and RQ retries on the schedule the job was queued with.
"""

from __future__ import annotations

import logging
from pathlib import Path

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk.sms.outgoing import send_auto_reply

log = logging.getLogger(__name__)


def auto_reply(ticket_id: int, database_url: str | None = None,
               runtime_dir: str | None = None) -> str:
    """Send ticket ``ticket_id``'s auto-reply; returns what happened."""
    settings = load_settings()
    if runtime_dir:
        settings = settings.with_runtime(Path(runtime_dir))
    engine = make_engine(database_url or settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            result = send_auto_reply(s, ticket_id, settings)
    finally:
        engine.dispose()
    log.info("SMS auto-reply of ticket %s: %s", ticket_id, result)
    return result
