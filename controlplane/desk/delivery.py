"""Replies leave through the ticket's channel: an RQ job per message, after its commit.

Theory of operation
-------------------
A reply to an e-mail or SMS ticket is written with ``meta["delivery"] = "pending"``, and
:func:`queue` adds the job ``desk_deliver(message_id)`` (:mod:`controlplane.jobs.desk_delivery`)
to the job outbox table *in the same transaction*: the job exists exactly when the message
does, whoever wrote it (an agent in the panel or the API, a business rule, a channel), and
the control plane queues it on RQ within seconds (the panel's Redis user may not touch
RQ's keys anyway). The job calls :func:`deliver`, which

1. loads the message and its ticket; a message already ``sent`` is done (idempotent: RQ
   may run a job twice);
2. imports the channel's sender by name, :data:`SENDERS` (``controlplane.desk.email.outgoing``
   or ``controlplane.desk.sms.outgoing``, written with those channels), and calls its
   ``deliver(session, ticket, message) -> str | None``;
3. stores the returned id on the message (``external_id``: the e-mail's Message-ID threads
   the customer's answer back) and ``meta["delivery"] = "sent"``; a sender that raises
   leaves ``"failed: <reason>"`` and the error goes back to RQ, which retries
   (:data:`RETRY`). A channel whose sender module does not exist yet leaves the message
   ``pending`` and says so in the log: nothing is lost, a later run can send it.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.models.outbox import JobOutbox
from controlplane.models.tickets import Ticket, TicketMessage

log = logging.getLogger(__name__)

JOB = "controlplane.jobs.desk_delivery.desk_deliver"
SENDERS = {"email": "controlplane.desk.email.outgoing", "sms": "controlplane.desk.sms.outgoing"}
RETRY = {"max": 5, "interval": [30, 120, 600, 1800, 3600]}
JOB_TIMEOUT_S = 120
REASON_MAX = 200


def job_id(message_id: int) -> str:
    return f"desk-deliver-{message_id}"


def queue(s: Session, message_id: int) -> None:
    """Add the delivery job of ``message_id`` to the job outbox in ``s``'s transaction."""
    spec = outbox.make_spec(JOB, (message_id,), job_id=job_id(message_id),
                            options={"job_timeout": JOB_TIMEOUT_S, outbox.RETRY: RETRY})
    if s.scalar(select(JobOutbox.id).where(JobOutbox.job_id == spec.job_id)) is None:
        s.add(JobOutbox(job_id=spec.job_id, queue=spec.queue, func=spec.func,
                        args=list(spec.args), kwargs=dict(spec.kwargs),
                        options=dict(spec.options), last_error=""))


def sender_for(channel: str) -> Any | None:
    """The channel's sender module, or None while it does not exist."""
    name = SENDERS.get(channel)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and name.startswith(err.name):  # the sender itself is missing
            return None
        raise


def _mark(factory: sessionmaker[Session], message_id: int, **meta: Any) -> None:
    with transaction(factory) as s:
        row = s.get(TicketMessage, message_id)
        if row is not None:
            row.meta = {**(row.meta or {}), **meta}


def deliver(factory: sessionmaker[Session], message_id: int) -> str:
    """Send the message through its channel; its delivery state afterwards."""
    with transaction(factory) as s:
        message = s.get(TicketMessage, message_id)
        if message is None or message.direction != "out":
            return "gone"
        state = (message.meta or {}).get("delivery")
        if state == "sent" or state is None:
            return state or "none"  # sent already, or a reply nothing delivers (panel, chat)
        sender = sender_for(message.channel)
        if sender is None:
            log.warning("ticket message %s: no sender for channel %s yet; left pending",
                        message_id, message.channel)
            message.meta = {**(message.meta or {}), "delivery": "pending"}
            return "pending"
        ticket = s.get_one(Ticket, message.ticket_id)
        try:
            with s.begin_nested():
                external = sender.deliver(s, ticket, message)
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"[:REASON_MAX]
            log.warning("ticket message %s: delivery by %s failed: %s", message_id,
                        message.channel, reason)
            failed = reason
        else:
            if external:
                message.external_id = str(external)[:255]
            message.meta = {**(message.meta or {}), "delivery": "sent"}
            return "sent"
    _mark(factory, message_id, delivery=f"failed: {failed}")
    raise DeliveryFailed(f"message {message_id}: {failed}")


class DeliveryFailed(RuntimeError):
    """A sender raised: the message says why, RQ tries again (not a user error)."""
