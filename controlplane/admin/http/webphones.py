"""Browser webphones in the admin room: whether the tenant's agents may have one, and which
they have.

A webphone is made for an agent the first time the agent page asks for it
(:mod:`controlplane.acd.http.webphone`), unless the tenant turns webphones off here
(``tenant.webphone_enabled``, on by default). Turning them off refuses new ones; the
existing ones stay, and are removed on the phones page like any phone. Page
``/admin/webphones``; API ``GET|PUT /api/v1/webphone-settings``. Audited; Asterisk's
configuration is not involved in the switch itself.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import service
from controlplane.admin.http.common import ADMIN, flash_applied, write
from controlplane.bus import CONTACTS_KEY
from controlplane.models import PhoneEndpoint, Tenant, User
from dialplan import webphone
from web.auth import current_user, login_required
from web.schemas.common import Body
from web.services import services
from web.validation import validated

bp = Blueprint("admin_webphones", __name__)


class WebphoneSettingsBody(Body):
    """``enabled``: whether agents get a webphone in the browser on first use."""

    enabled: bool


def _state() -> dict[str, Any]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        tenant = s.get(Tenant, tid)
        assert tenant is not None  # the logged-in user's tenant
        rows = s.execute(select(PhoneEndpoint, User.login)
                         .outerjoin(User, User.id == PhoneEndpoint.user_id)
                         .where(PhoneEndpoint.tenant_id == tid,
                                PhoneEndpoint.kind == webphone.KIND)
                         .order_by(PhoneEndpoint.extension)).all()
        names = [p.name for p, _login in rows]
        try:
            states = services().redis.hmget(CONTACTS_KEY, names) if names else []
        except redis.RedisError:
            states = [None] * len(names)
        phones = [{"id": p.id, "name": p.name, "extension": p.extension, "user": login,
                   "registration": service.registration(
                       st.decode() if isinstance(st, bytes) else st)}
                  for (p, login), st in zip(rows, states, strict=True)]
        return {"enabled": tenant.webphone_enabled, "webphones": phones}


def _set(enabled: bool) -> None:
    tid = current_user().tenant_id

    def change(s: Session) -> bool:
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        tenant.webphone_enabled = enabled
        return enabled

    write(change, "webphone.settings", lambda on: {"enabled": on}, asterisk=False, acd=False)


@bp.route("/admin/webphones", methods=["GET", "POST"])
@login_required(*ADMIN)
def index() -> Any:
    if request.method == "POST":
        _set(request.form.get("enabled") == "on")
        flash_applied(None, _("Saved"))
        return redirect(url_for("admin_webphones.index"))
    return render_template("admin_webphones.html", **_state())


@bp.get("/api/v1/webphone-settings")
@login_required(*ADMIN)
@validated()
def api_get() -> Any:
    return jsonify(_state())


@bp.put("/api/v1/webphone-settings")
@login_required(*ADMIN)
@validated(body=WebphoneSettingsBody)
def api_put(body: WebphoneSettingsBody) -> BaseResponse:
    _set(body.enabled)
    return jsonify(_state())
