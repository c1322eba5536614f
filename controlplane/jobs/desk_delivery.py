"""RQ job: send an agent's reply on an e-mail or SMS ticket through its channel.

Queued by the panel through the job outbox (:func:`controlplane.desk.delivery.queue`) after
the reply commits; the work is :func:`controlplane.desk.delivery.deliver` (idempotent: a sent
message is not sent again; a failure raises so RQ retries on its schedule).
"""

from __future__ import annotations

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.desk import delivery


def desk_deliver(message_id: int, database_url: str | None = None) -> str:
    """Deliver ticket message ``message_id``; its delivery state afterwards."""
    engine = make_engine(database_url or load_settings().database_url)
    try:
        return delivery.deliver(make_sessionmaker(engine), message_id)
    finally:
        engine.dispose()
