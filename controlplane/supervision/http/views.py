"""Supervision in the panel: ``/api/v1/supervision`` and the pages' buttons.

A supervisor (or admin) picks an agent or a call and a mode; the panel checks the role and
that an agent named is the tenant's, then asks the daemon over the bus (``supervision``)
and waits for its answer: the session id once the supervisor's phone is being rung. The
daemon checks everything again (the command guard: the actor's role and tenant; the
service: the call is the tenant's and talking). Switching (``PATCH``) and stopping
(``DELETE``) name the session. Rows are read from ``supervision_session`` (the daemon writes
them). The buttons post one form (:class:`.schemas.SuperviseForm`) and come back to their
page with a message; the pages show the supervisor's session in progress with its switch
and stop buttons (``_supervision.html``, through :func:`active_session`); with script
(``web/static/supervise.js``) the buttons use the API instead, so the page and a webphone
call in it stay. Staff without a desk phone get the webphone on those pages
(:func:`webphone_offered`); it answers their own session's call by itself.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, flash, g, jsonify, redirect, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import webphone as webphones
from controlplane.bus import ControlPlaneNotAnswering, send_supervision
from controlplane.errors import CentralaError
from controlplane.models import Role, Tenant, User
from controlplane.models.supervision import SupervisionSession
from controlplane.supervision import store
from controlplane.supervision.http.schemas import ModeBody, StartBody, SuperviseForm
from web.auth import current_user, login_required
from web.errors import BadParameter, FieldProblem, Invalid, NotFound, PanelError
from web.services import services
from web.validation import validated

bp = Blueprint("supervision", __name__)
STAFF = (Role.ADMIN, Role.SUPERVISOR)
MODES = ("listen", "whisper", "barge")
DEFAULT_TIMEOUT_S = 5.0
BACK = {"live": "calls.live", "agents": "agents.board"}


class ControlPlaneDown(PanelError):
    status = 503
    error_id = "controlplane_not_answering"


class Refused(PanelError):
    """The daemon's refusal, with its status and code (not on a call, no phone…)."""

    def __init__(self, message: str, status: int, error_id: str) -> None:
        super().__init__(message)
        self.status, self.error_id = status, error_id


def _ask(action: str, target: str, mode: str | None = None) -> dict[str, Any]:
    user = current_user()
    timeout = float(current_app.config.get("SUPERVISION_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    try:
        result = send_supervision(services().redis, user.tenant_id, user.id, action, target,
                                  mode, timeout_s=timeout)
    except ControlPlaneNotAnswering as err:
        raise ControlPlaneDown(str(err)) from err
    except redis.RedisError as err:
        raise ControlPlaneDown("supervision unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        status = result.get("status")
        raise Refused(str(result.get("message") or "refused"),
                      status if isinstance(status, int) and 400 <= status < 600 else 409,
                      str(result.get("code") or "supervision_refused"))
    return result


def _check_agent(agent_id: int) -> None:
    with services().sessions() as s:
        agent = s.get(User, agent_id)
        if agent is None or agent.tenant_id != current_user().tenant_id:
            raise NotFound(f"no agent {agent_id} in your tenant")


def _json(row: SupervisionSession) -> dict[str, Any]:
    return {"id": row.id, "agent_id": row.agent_id, "call_id": row.call_id, "mode": row.mode,
            "modes": [m for m in row.modes.split(",") if m], "state": row.state,
            "phone": row.phone, "started_at": row.started_at.isoformat(),
            "ended_at": row.ended_at.isoformat() if row.ended_at else None,
            "end_reason": row.end_reason or None}


def _row(session_id: int) -> dict[str, Any]:
    with services().sessions() as s:
        row = store.get(s, current_user().tenant_id, session_id)
        if row is None:
            raise NotFound(f"no supervision session {session_id}")
        return _json(row)


def start(agent_id: int | None, call_id: str | None, mode: str) -> dict[str, Any]:
    if (agent_id is None) == (call_id is None):
        raise Invalid([FieldProblem("agent_id", "give an agent_id or a call_id (exactly one)")])
    if agent_id is not None:
        _check_agent(agent_id)
    target = f"agent:{agent_id}" if agent_id is not None else f"call:{call_id}"
    got = _ask("start", target, mode)
    return _row(int(got["session_id"]))


# ---- API ----

@bp.get("/api/v1/supervision")
@login_required(*STAFF)
@validated()
def api_active() -> Any:
    """The logged-in supervisor's session in progress (``null``: none)."""
    user = current_user()
    with services().sessions() as s:
        row = store.active_of(s, user.tenant_id, user.id)
        return jsonify({"session": _json(row) if row is not None else None})


@bp.post("/api/v1/supervision")
@login_required(*STAFF)
@validated(body=StartBody)
def api_start(body: StartBody) -> Any:
    return jsonify(start(body.agent_id, body.call_id, body.mode)), 201


@bp.get("/api/v1/supervision/<int:session_id>")
@login_required(*STAFF)
@validated()
def api_session(session_id: int) -> Any:
    return jsonify(_row(session_id))


@bp.patch("/api/v1/supervision/<int:session_id>")
@login_required(*STAFF)
@validated(body=ModeBody)
def api_mode(session_id: int, body: ModeBody) -> Any:
    _row(session_id)  # the tenant's, or 404 before the daemon is asked
    _ask("mode", f"session:{session_id}", body.mode)
    return jsonify(_row(session_id))


@bp.delete("/api/v1/supervision/<int:session_id>")
@login_required(*STAFF)
@validated()
def api_stop(session_id: int) -> Any:
    _row(session_id)
    _ask("stop", f"session:{session_id}")
    return jsonify(_row(session_id))


# ---- the pages' buttons ----

@bp.post("/supervision")
@login_required(*STAFF)
@validated(form=SuperviseForm)
def form_post(form: SuperviseForm) -> BaseResponse:
    back = redirect(url_for(BACK.get(form.back, "calls.live")))
    try:
        if form.session:
            if not form.session.isdigit():
                raise BadParameter("session", "a session id")
            if form.stop:
                _row(int(form.session))
                _ask("stop", f"session:{form.session}")
                flash(gettext("Supervision stopped."), "ok")
                return back
            if form.mode not in MODES:
                raise BadParameter("mode", "listen, whisper or barge")
            _row(int(form.session))
            _ask("mode", f"session:{form.session}", form.mode)
        else:
            kind, _, key = form.target.partition(":")
            if form.mode not in MODES or kind not in ("agent", "call") or not key:
                raise BadParameter("target", "an agent or a call, and a mode")
            if kind == "agent" and not key.isdigit():
                raise BadParameter("target", "an agent id")
            start(int(key) if kind == "agent" else None, key if kind == "call" else None,
                  form.mode)
        flash(gettext("Supervision: %(mode)s. Your phone rings if it is not connected yet.",
                      mode=mode_label(form.mode)), "ok")
    except CentralaError as err:
        flash(gettext("Supervision refused: %(why)s", why=_why(err)), "error")
    return back


def _refusals() -> dict[str, str]:
    """The daemon's refusals by error id, in the user's language (its messages are English)."""
    return {
        "not_on_call": gettext("not on a call with an agent now"),
        "no_phone": gettext("you have no phone to be rung"),
        "already_supervising": gettext("you are already supervising a call"),
        "session_not_found": gettext("the session has ended"),
        "controlplane_not_answering": gettext("the control plane is not answering"),
        "asterisk": gettext("your phone could not be rung (is it connected?)"),
    }


def _why(err: CentralaError) -> str:
    return _refusals().get(err.error_id, err.message)


def supervision_texts() -> dict[str, Any]:
    """What supervise.js writes in the bar: the modes' labels and the refusals' sentences."""
    return {"modes": {m: mode_label(m) for m in MODES}, "refusals": _refusals(),
            "refused": gettext("Supervision refused: %(why)s", why="{why}")}


def mode_label(mode: str) -> str:
    return {"listen": gettext("listen"), "whisper": gettext("whisper"),
            "barge": gettext("barge")}.get(mode, mode)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"active_supervision": active_session, "supervision_mode_label": mode_label,
            "supervision_texts": supervision_texts, "supervision_webphone": webphone_offered}


def webphone_offered() -> bool:
    """Whether the supervisor's pages run the webphone: for staff without a desk phone (a
    desk phone is rung first, :func:`..store.supervisor_phone`) whose tenant allows
    webphones or who has one already; the same component, and registration, as the agent's."""
    user = current_user()
    if user.role not in STAFF:
        return False
    if "centrala_sv_webphone" not in g:  # asked by the page's head and its body
        with services().sessions() as s:
            tenant = s.get(Tenant, user.tenant_id)
            g.centrala_sv_webphone = webphones.offered(s, user.tenant_id, user.id) and (
                bool(tenant is not None and tenant.webphone_enabled)
                or webphones.find(s, user.tenant_id, user.id) is not None)
    return bool(g.centrala_sv_webphone)


def active_session() -> dict[str, Any] | None:
    """The logged-in supervisor's session in progress, for the pages' bar (None: none)."""
    user = current_user()
    if user.role not in STAFF:
        return None
    with services().sessions() as s:
        row = store.active_of(s, user.tenant_id, user.id)
        return _json(row) if row is not None else None
