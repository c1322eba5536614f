"""Replies leave through the ticket's channel: an RQ job per message, after its commit.

Theory of operation
-------------------
The panel commits the agent's reply with ``meta["delivery"] = "pending"`` and then calls
:func:`queue`, which leaves ``desk_deliver(message_id)`` (:mod:`controlplane.jobs.desk_delivery`)
in the job outbox (the panel's Redis user may not touch RQ's keys; the control plane
queues it within seconds). The job calls :func:`deliver`, which

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

from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.models.tickets import Ticket, TicketMessage

log = logging.getLogger(__name__)

SENDERS = {"email": "controlplane.desk.email.outgoing", "sms": "controlplane.desk.sms.outgoing"}
RETRY = {"max": 5, "interval": [30, 120, 600, 1800, 3600]}
JOB_TIMEOUT_S = 120
REASON_MAX = 200


def job_id(message_id: int) -> str:
    return f"desk-deliver-{message_id}"


def queue(factory: sessionmaker[Session], message_id: int) -> None:
    """Leave the delivery job of ``message_id`` in the outbox (call after its commit)."""
    from controlplane.jobs.desk_delivery import desk_deliver

    outbox.keep(factory, outbox.make_spec(desk_deliver, (message_id,), job_id=job_id(message_id),
                                          options={"job_timeout": JOB_TIMEOUT_S,
                                                   outbox.RETRY: RETRY}))


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
