"""Telling the daemon's ACD that a ticket changed, once the change is committed.

Theory of operation
-------------------
Tickets are created and changed in other processes than the daemon (the mail poller, the
panel, the SMS webhook) while the live ACD that routes them runs in the daemon. Every desk
operation that may put a ticket into routing or take it out (:func:`touched`: a new or
reopened ticket, a change of status, queue or assignee, "next ticket", a merge) notes the
ticket on its session; after the session's commit, and only then, a process that
:func:`install`-ed the hook on its session factory sends ``ticket.sync`` for each noted
ticket (:func:`controlplane.bus.send_ticket_sync`): the daemon re-reads the ticket and routes
it, or takes it out of routing (:mod:`controlplane.desk.acd`). A rolled-back change sends
nothing. A command that is lost (Redis down, the daemon restarting) costs only time: the
daemon also sweeps the database at start and periodically.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import StreamClient, send_ticket_sync
from controlplane.models.tickets import Ticket

log = logging.getLogger(__name__)
KEY = "centrala.desk.acd_sync"  # the session.info entry: {(tenant id, ticket id)}


def touched(s: Session, ticket: Ticket) -> None:
    """Note that ``ticket`` may enter or leave routing when this session commits."""
    s.info.setdefault(KEY, set()).add((ticket.tenant_id, ticket.id))


def install(factory: sessionmaker[Session], client: StreamClient) -> None:
    """Send ``ticket.sync`` through ``client`` after each commit of ``factory``'s sessions
    for the tickets they touched."""

    def committed(s: Session) -> None:
        for tenant_id, ticket_id in sorted(s.info.pop(KEY, ())):
            try:
                send_ticket_sync(client, tenant_id, ticket_id)
            except Exception as err:  # noqa: BLE001 - Redis down: the daemon's sweep finds it
                log.warning("ticket.sync of ticket %s not sent: %s", ticket_id, err)

    def rolled_back(s: Session, *_: Any) -> None:
        s.info.pop(KEY, None)

    event.listen(factory, "after_commit", committed)
    event.listen(factory, "after_rollback", rolled_back)
