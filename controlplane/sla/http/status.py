"""``/sla/status`` and ``GET /api/v1/sla/status``: each critical function now and its last 24 h.

Tenant admins see the platform-wide probes merged with their tenant's own; the operator the
platform-wide ones. Computed by :mod:`controlplane.sla.status`. Why a probe failed
(``detail``: hosts, ports, exception text) is the operator's to read, never a tenant's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask_babel import lazy_gettext

from controlplane.models import Role
from controlplane.sla import status
from controlplane.sla.http.pages import FUNCTIONS, duration
from controlplane.sla.http.schemas import FunctionStatusOut, StatusOut
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.session_cookie import clock
from web.validation import validated

bp = Blueprint("sla_status", __name__)

_ = lazy_gettext
STATES = {"up": _("Working"), "down": _("Down"), "unknown": _("Not measured yet")}
SLOT_MINUTES = int(status.WINDOW.total_seconds() // 60 // status.SLOTS)


def _view() -> tuple[str | None, list[status.FunctionStatus], Any]:
    me = current_user()
    operator = me.role is Role.OPERATOR
    now = clock(current_app)
    with services().sessions() as s:
        rows = status.status(s, None if operator else me.tenant_id, now)
    if not operator:  # the failure's technical text is the operator's
        rows = [status.FunctionStatus(r.function, r.state, r.since, r.checked_at, "",
                                      r.down_seconds, r.strip) for r in rows]
    return (None if operator else me.tenant_domain), rows, now


@bp.get("/sla/status")
@login_required(Role.ADMIN, Role.OPERATOR)
def page() -> Any:
    tenant, rows, now = _view()
    return render_template("sla_status.html", rows=rows, functions=FUNCTIONS, states=STATES,
                           slot_minutes=SLOT_MINUTES, now=now, platform=tenant is None,
                           duration=duration)


@bp.get("/api/v1/sla/status")
@login_required(Role.ADMIN, Role.OPERATOR)
@validated()
@responds(StatusOut)
def api_status() -> Any:
    tenant, rows, now = _view()
    out = StatusOut(tenant=tenant, at=now, window_hours=int(status.WINDOW.total_seconds() // 3600),
                    slot_minutes=SLOT_MINUTES, functions=[
                        FunctionStatusOut(function=r.function, state=r.state, since=r.since,  # type: ignore[arg-type]
                                          checked_at=r.checked_at, detail=r.detail,
                                          down_seconds=r.down_seconds, history=r.strip)  # type: ignore[arg-type]
                        for r in rows])
    return jsonify(out.model_dump(mode="json"))
