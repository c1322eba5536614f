"""The TOTP second factor in the account area, and its reset by an administrator.

Enrolment (``/account/totp``): the page shows a new secret as text, as an
``otpauth://`` link and, when segno is installed, as a QR code; the user types the code
their app shows (``POST /account/totp``); a right code turns the factor on and the ten
recovery codes are shown this once (only their digests are kept). From then on login
asks for a code (:mod:`web.login_access`). An administrator resets a user's factor
(``POST /security/users/<id>/totp/reset`` from the access page, or
``DELETE /api/v1/users/<id>/totp``), for a lost phone: audited ``totp.reset``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.access.http.schemas import TotpCode
from controlplane.db import transaction
from controlplane.models import Role, User, UserTotp
from controlplane.security import audit, totp, totp_store
from web.auth import client_address, current_user, login_required
from web.errors import Invalid, NotFound
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, validated

bp = Blueprint("totp", __name__)


def _qr(uri: str) -> str | None:
    """A data: URI of the QR code of ``uri`` (None when segno is not installed: the
    secret and the link are shown as text anyway)."""
    try:
        import segno
    except ImportError:
        return None
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _enrol_page(error: str | None = None, status: int = 200) -> Any:
    me, now = current_user(), clock(current_app)
    with transaction(services().sessions) as s:
        if totp_store.enabled(s, me.id):
            return render_template("totp.html", enabled=True,
                                   left=totp_store.recovery_left(s, me.id)), status
        secret = totp_store.pending_secret(s, me.id, now)
    uri = totp.provisioning_uri(secret, me.address)
    return render_template("totp.html", enabled=False, secret=secret, uri=uri, qr=_qr(uri),
                           error=error), status


@bp.get("/account/totp")
@login_required()
def page() -> Any:
    return _enrol_page()


@bp.post("/account/totp")
@login_required()
def confirm() -> Any:
    me, now = current_user(), clock(current_app)
    try:
        code = parse_form(TotpCode).code
    except Invalid:
        code = ""
    with transaction(services().sessions) as s:
        codes = totp_store.confirm(s, me.id, code, now) if code else None
        if codes is not None:
            audit.record(s, "totp.enabled", tenant_id=me.tenant_id, actor=me.address,
                         source=client_address(), detail={})
    if codes is None:
        return _enrol_page(gettext("That code is not right. Type the 6 digits your "
                                   "authenticator app shows now."), 400)
    return render_template("totp.html", enabled=True, codes=codes, left=len(codes))


def _reset(user_id: int) -> bool:
    me = current_user()
    with transaction(services().sessions) as s:
        target = s.scalar(select(User).where(User.id == user_id, User.tenant_id == me.tenant_id))
        if target is None:
            raise NotFound(f"no user {user_id} in your tenant")
        done = totp_store.reset(s, user_id)
        if done:
            audit.record(s, "totp.reset", tenant_id=me.tenant_id, actor=me.address,
                         source=client_address(),
                         detail={"user": f"{target.login}@{me.tenant_domain}",
                                 "user_id": user_id})
    return done


def users_with_totp(tenant_id: int) -> list[tuple[int, str, str]]:
    """(id, login, display name) of the tenant's users whose second factor is on."""
    with services().sessions() as s:
        rows = s.execute(select(User.id, User.login, User.display_name).join(
            UserTotp, UserTotp.user_id == User.id).where(
            User.tenant_id == tenant_id, UserTotp.confirmed_at.is_not(None))
            .order_by(User.login))
        return [(r.id, r.login, r.display_name or r.login) for r in rows]


@bp.post("/security/users/<int:user_id>/totp/reset")
@login_required(Role.ADMIN)
def reset_form(user_id: int) -> BaseResponse:
    if _reset(user_id):
        flash(gettext("Second factor reset: the user logs in with the password alone and "
                      "may enrol again."), "ok")
    return redirect(url_for("access_policy.page"))


@bp.delete("/api/v1/users/<int:user_id>/totp")
@login_required(Role.ADMIN)
@validated()
def api_reset(user_id: int) -> Any:
    return jsonify({"reset": _reset(user_id)})
