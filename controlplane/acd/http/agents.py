"""Agents in the panel: each user's own agent status, and the supervisors' agent board.

Theory of operation: the panel never changes agent state itself. A button or an
API call becomes ``send_agent_command`` (:mod:`controlplane.bus`): one
entry on the ``centrala:commands`` stream and a wait of a few seconds for the
daemon's ``QueueService`` to answer; the answer (new status, or why it was
refused) is shown at once. What the pages display comes from the ACD's Redis
mirror (:mod:`.board`), refreshed by ``static/acd.js`` polling the JSON
API every 2 s (the SSE stream of :mod:`controlplane.calls.http.live` only carries live-call
snapshots; a poll of one small hash is simpler and just as fresh).

Who may do what (checked here, on every request, before anything is sent):

* every user: their own ``login | ready | break | cancel_break | logout``;
* supervisors and admins: ``approve | deny | force | logout`` for any agent
  of their own tenant; an agent of another tenant is "not found" (404);
* agents: nothing for other users, and no supervisor action (403).
"""

from __future__ import annotations

from typing import Any

import redis
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.acd.http.board import AgentRow, agent_board, agent_row
from controlplane.acd.http.schemas import MAX_REASON_LEN, AgentCommand
from controlplane.admin import webphone as webphones
from controlplane.bus import AGENT_ACTIONS, ControlPlaneNotAnswering, send_agent_command
from controlplane.desk import routing
from controlplane.models import PhoneEndpoint, Role, User
from controlplane.models.acd import AgentBreakReason
from controlplane.security.command_rules import SELF_AGENT_COMMANDS, SUPERVISOR_AGENT_COMMANDS
from web.auth import CurrentUser, Forbidden, current_user, login_required
from web.errors import BadParameter, NotFound, PanelError
from web.labels import label
from web.services import services
from web.validation import validated

bp = Blueprint("agents", __name__)

SUPERVISORS = (Role.ADMIN, Role.SUPERVISOR)
# What an agent does to itself and what a supervisor does to an agent: the daemon's own rule
# table, so the panel refuses exactly what the daemon would.
SELF_COMMANDS = SELF_AGENT_COMMANDS
SUPERVISOR_COMMANDS = tuple(sorted(SUPERVISOR_AGENT_COMMANDS))
NEEDS_REASON = ("break", "force")
DEFAULT_TIMEOUT_S = 3.0


class ControlPlaneDown(PanelError):
    status = 503
    error_id = "controlplane_not_answering"


class Unavailable(PanelError):
    status = 503
    error_id = "unavailable"


class CommandRefused(PanelError):
    status = 409
    error_id = "command_refused"


class NoPhone(PanelError):
    status = 409
    error_id = "no_phone"


# Commands after which the agent is offered calls ("login" logs in ready): refused to a
# user with no phone (desk phone, softphone or webphone: one PhoneEndpoint each), whose
# every queue call would ring nowhere.
GO_READY = ("login", "ready")


def _has_phone(s: Session, user_id: int) -> bool:
    return s.scalar(select(PhoneEndpoint.id).where(PhoneEndpoint.user_id == user_id)
                    .limit(1)) is not None


def _target(s: Session, user: CurrentUser, target_id: int, command: str) -> User:
    """The user ``command`` is for, after the role and tenant checks (see the module doc)."""
    if command not in AGENT_ACTIONS:
        raise BadParameter("command", f"must be one of {', '.join(AGENT_ACTIONS)}")
    if target_id == user.id:
        if command not in SELF_COMMANDS:
            raise Forbidden(f"'{command}' is a supervisor action on another agent")
    elif user.role not in SUPERVISORS:
        raise Forbidden("agents may only change their own status")
    elif command not in SUPERVISOR_COMMANDS:
        raise Forbidden(
            f"'{command}' is done by the agent; supervisors may {', '.join(SUPERVISOR_COMMANDS)}"
        )
    target = s.scalar(select(User).where(User.id == target_id, User.tenant_id == user.tenant_id))
    if target is None:
        raise NotFound(f"no agent {target_id} in your tenant")
    return target


def run_command(target_id: int, command: str, reason: str | None) -> dict[str, Any]:
    """Check, send and wait; returns the daemon's result or raises a :class:`PanelError`."""
    user, svc = current_user(), services()
    reason = (reason or "").strip() or None
    with svc.sessions() as s:
        _target(s, user, target_id, command)
        if command in GO_READY and not _has_phone(s, target_id):
            raise NoPhone(gettext(
                "You have no phone: neither a desk phone nor a webphone is assigned to you, so "
                "calls could not reach you. Ask an administrator to assign one."))
    if command in NEEDS_REASON and reason is None:
        raise BadParameter("reason", f"'{command}' needs a break reason")
    if reason is not None and len(reason) > MAX_REASON_LEN:  # the form's field is free text
        raise BadParameter("reason", f"a break reason code of at most {MAX_REASON_LEN} characters")
    by = user.address if target_id != user.id else None
    timeout = float(current_app.config.get("ACD_COMMAND_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    try:
        before = _mirrored(user.tenant_id, target_id)
        result = send_agent_command(
            svc.redis, user.tenant_id, target_id, command, reason, by, timeout_s=timeout,
            actor_id=user.id,
        )
    except ControlPlaneNotAnswering as err:
        # The daemon replies only after the whole ACD operation (routing a waiting call to
        # an agent who just went ready included), and it carries out any command that
        # reached it before the deadline: a busy daemon could do what was asked and answer
        # late. Its mirror is written before that work, so it tells whether it took effect.
        after = _mirrored(user.tenant_id, target_id)
        if before is None or after is None or not took_effect(command, before, after):
            raise ControlPlaneDown(str(err)) from err
        result = {"ok": True, "status": after.get("status"), "reason": after.get("reason"),
                  "code": "late", "message": "done (confirmed by the agent's live status)"}
    except redis.RedisError as err:
        raise Unavailable("agent commands unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        raise CommandRefused(
            result.get("message") or "refused",
            details={k: result.get(k) for k in ("code", "status", "reason")},
        )
    return result


def _mirrored(tenant_id: int, user_id: int) -> dict[str, Any] | None:
    """The agent's live state as the ACD last mirrored it (None: not readable)."""
    with services().sessions() as s:
        target = s.get(User, user_id)
        if target is None:
            return None
        return agent_row(services().redis, s, tenant_id, target).to_json()


_WORKING = ("ready", "reserved", "ringing", "on_call", "wrap_up")


def took_effect(command: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether the change from ``before`` to ``after`` (agent rows, :class:`AgentRow`
    JSON) is what ``command`` asks for (pure; used when the daemon's reply is late)."""
    was, now = before.get("status"), after.get("status")
    pending_now = after.get("pending_break") or after.get("deferred")
    if after == before:
        return False
    if command == "login":
        return was == "logged_out" and now != "logged_out"
    if command == "logout":
        return now == "logged_out" or "logout" in str(after.get("deferred") or "")
    if command == "ready":
        return now in _WORKING and now != was
    if command in ("break", "force", "approve"):
        return now == "break" or bool(pending_now and command == "break")
    if command in ("cancel_break", "deny"):
        return bool(before.get("pending_break") or before.get("deferred")) and not pending_now
    return False


def _board(user: CurrentUser) -> list[AgentRow]:
    svc = services()
    try:
        with svc.sessions() as s:
            return agent_board(svc.redis, s, user.tenant_id)
    except redis.RedisError as err:
        raise Unavailable("live agent data unavailable (Redis is not reachable)") from err


def _own_row(user: CurrentUser) -> AgentRow:
    svc = services()
    with svc.sessions() as s:
        me = s.get(User, user.id)
        assert me is not None  # login_required just loaded it
        try:
            return agent_row(svc.redis, s, user.tenant_id, me)
        except redis.RedisError as err:
            raise Unavailable("live agent data unavailable (Redis is not reachable)") from err


def _reasons(tenant_id: int, *, for_agent: bool) -> list[dict[str, Any]]:
    with services().sessions() as s:
        rows = s.scalars(
            select(AgentBreakReason)
            .where(AgentBreakReason.tenant_id == tenant_id)
            .order_by(AgentBreakReason.code)
        ).all()
    return [
        {"code": r.code, "label": r.label or r.code, "kind": r.kind}
        for r in rows
        if not (for_agent and r.kind == "supervisor")
    ]


def _page_message(err: PanelError) -> str:
    """A refused command in the page's language: the control plane and Redis answer in
    English (the API keeps their words); the page says the same thing translated."""
    if isinstance(err, ControlPlaneDown):
        return _("control plane not answering; try again in a moment")
    if isinstance(err, Unavailable):
        return _("Agent commands are unavailable now (Redis is not reachable).")
    if isinstance(err, BadParameter) and err.name == "reason":
        return _("Choose a break reason.")
    if isinstance(err, CommandRefused):
        code = err.details.get("code")
        if code == "licence_limit":
            return _("All licences of the tenant are in use; ask an administrator.")
        if code == "logged_in_elsewhere":
            return _("This agent is logged in on another workstation.")
        return _("Refused: %(reason)s", reason=err.message)
    return err.message  # NoPhone: translated where it is raised


def _flash_result(command: str, target: str) -> None:
    try:
        result = run_command(int(target), command, request.form.get("reason"))
    except (CommandRefused, NoPhone, ControlPlaneDown, Unavailable, BadParameter) as err:
        flash(_page_message(err), "error")
        return
    status, reason = result.get("status"), result.get("reason")
    if str(get_locale()) != "en":  # English shows the command words themselves (login, ready)
        command, status = label(command, "agent_command"), label(status, "agent_status")
    flash(_("%(command)s: done, status now %(status)s", command=command, status=status)
          + (f" ({reason})" if reason else ""), "ok")


# ---- pages ----


@bp.get("/agent")
@login_required()
def me() -> Any:
    user = current_user()
    try:
        row: AgentRow | None = _own_row(user)
        error = None
    except Unavailable as err:
        row, error = None, err.message
    with services().sessions() as s:
        webphone_offered = webphones.offered(s, user.tenant_id, user.id)
    return render_template(
        "agent.html", row=row, error=error, reasons=_reasons(user.tenant_id, for_agent=True),
        webphone_offered=webphone_offered,
    )


@bp.post("/agent")
@login_required()
def me_command() -> BaseResponse:
    _flash_result(request.form.get("command", ""), str(current_user().id))
    return redirect(url_for("agents.me"))


@bp.get("/agents")
@login_required(*SUPERVISORS)
def board() -> Any:
    user = current_user()
    try:
        rows, error = _board(user), None
    except Unavailable as err:
        rows, error = [], err.message
    with services().sessions() as s:
        tickets = routing.held_by_agent(s, user.tenant_id)  # the e-mails each agent holds
    return render_template(
        "agents.html", rows=rows, error=error, reasons=_reasons(user.tenant_id, for_agent=False),
        tickets=tickets,
    )


@bp.post("/agents/<int:user_id>")
@login_required(*SUPERVISORS)
def board_command(user_id: int) -> BaseResponse:
    with services().sessions() as s:  # a 404 page for another tenant's agent, not a flash
        _target(s, current_user(), user_id, request.form.get("command", ""))
    _flash_result(request.form.get("command", ""), str(user_id))
    return redirect(url_for("agents.board"))


# ---- JSON API ----


@bp.get("/api/v1/agents")
@login_required(*SUPERVISORS)
@validated()
def api_agents() -> Any:
    return jsonify({"agents": [r.to_json() for r in _board(current_user())]})


@bp.get("/api/v1/agents/me")
@login_required()
@validated()
def api_me() -> Any:
    user = current_user()
    return jsonify(
        {
            "agent": _own_row(user).to_json(),
            "break_reasons": _reasons(user.tenant_id, for_agent=True),
        }
    )


@bp.get("/api/v1/agents/<int:user_id>")
@login_required(*SUPERVISORS)
@validated()
def api_agent(user_id: int) -> Any:
    user, svc = current_user(), services()
    with svc.sessions() as s:
        target = s.scalar(select(User).where(User.id == user_id, User.tenant_id == user.tenant_id))
        if target is None:
            raise NotFound(f"no agent {user_id} in your tenant")
        try:
            row = agent_row(svc.redis, s, user.tenant_id, target)
        except redis.RedisError as err:
            raise Unavailable("live agent data unavailable (Redis is not reachable)") from err
    return jsonify({"agent": row.to_json()})


@bp.post("/api/v1/agents/<int:user_id>/command")
@login_required()
@validated(body=AgentCommand)
def api_command(user_id: int, body: AgentCommand) -> Any:
    """``{"command": "break", "reason": "2"}`` → ``{"result": {ok, status, reason, code,
    message}}``; a refusal is 409 ``command_refused`` with the code in ``details``."""
    return jsonify({"result": run_command(user_id, body.command, body.reason)})
