"""The agent's side of tickets routed by the ACD (issue 14), in ``/api/v1``.

* ``GET /api/v1/tickets/offers``: the offers waiting for me (seconds left) and the tickets
  the ACD gave me that I still hold (read from the daemon's ``ticket_route`` rows).
* ``POST /api/v1/tickets/<id>/accept`` | ``decline``: the offer made to me;
  ``POST /api/v1/tickets/<id>/release``: give back a ticket the ACD gave me (it waits in
  its queue again, offered to the others first); the ticket page's form
  ``POST /tickets/<id>/release`` does the same.

The actions are commands to the daemon (``bus.send_ticket_command`` with the agent as
actor); the daemon's guard checks the routing row names this agent and the live ACD checks
its offer again. A refusal is a 409 with the daemon's code (``not_offered``, ``not_held``,
``forbidden``), a ticket of another tenant (or that the agent may not see) a 404, a daemon
that does not answer a 503.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, flash, jsonify, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.bus import ControlPlaneNotAnswering, send_ticket_command
from controlplane.desk import routing, store
from controlplane.desk.exceptions import TicketNotFound
from controlplane.desk.http.common import ROLES, viewer
from controlplane.desk.schemas import RoutedTickets, RoutingAnswer
from controlplane.errors import CentralaError, Unavailable
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("desk_routing", __name__)


class RoutingRefused(CentralaError):
    """The daemon refused the agent's action (its code and message)."""

    status = 409

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def act(action: str, ticket_id: int) -> dict[str, Any]:
    """Send the agent's ``action`` on ``ticket_id`` to the daemon; its answer, or raise."""
    user = current_user()
    with services().sessions() as s:
        store.ticket(s, viewer(), ticket_id)  # another tenant's / not visible: 404
    try:
        result = send_ticket_command(
            services().redis, action, tenant_id=user.tenant_id, ticket_id=ticket_id,
            actor_id=user.id,
            timeout_s=float(current_app.config.get("CHAT_COMMAND_TIMEOUT_S", 3.0)))
    except ControlPlaneNotAnswering as err:
        raise Unavailable(str(err)) from err
    except redis.RedisError as err:
        raise Unavailable("tickets unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        code = str(result.get("code") or "ticket_refused")
        message = str(result.get("message") or "refused")
        if code == "not_found":
            raise TicketNotFound(message)
        raise RoutingRefused(message, code)
    return {"ok": True, "ticket_id": ticket_id, "action": action}


@bp.get("/api/v1/tickets/offers")
@login_required(*ROLES)
@validated()
@responds(RoutedTickets)
def api_offers() -> Any:
    user = current_user()
    with services().sessions() as s:
        return jsonify(routing.mine(s, user.tenant_id, user.id, current_app.config["CLOCK"]()))


@bp.post("/api/v1/tickets/<int:ticket_id>/accept")
@login_required(*ROLES)
@validated()
@responds(RoutingAnswer)
def api_accept(ticket_id: int) -> Any:
    return jsonify(act("accept", ticket_id))


@bp.post("/api/v1/tickets/<int:ticket_id>/decline")
@login_required(*ROLES)
@validated()
@responds(RoutingAnswer)
def api_decline(ticket_id: int) -> Any:
    return jsonify(act("decline", ticket_id))


@bp.post("/api/v1/tickets/<int:ticket_id>/release")
@login_required(*ROLES)
@validated()
@responds(RoutingAnswer)
def api_release(ticket_id: int) -> Any:
    return jsonify(act("release", ticket_id))


@bp.post("/tickets/<int:ticket_id>/release")
@login_required(*ROLES)
def release_form(ticket_id: int) -> BaseResponse:
    """The ticket page's "give back": the ticket waits in its queue again."""
    try:
        act("release", ticket_id)
        flash(_("The ticket went back to its queue."), "ok")
    except (RoutingRefused, Unavailable) as err:
        flash(_("Not given back: %(reason)s", reason=err.message), "error")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))
