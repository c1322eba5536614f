"""A user's own account: change the password (``/account/password``) and pick the panel's
language (``/account/language``: Polish, English, or the tenant's default).

Changing the password ends every *other* panel session of the user at once (a
``session.revoked`` audit row with reason ``password_changed``); the browser that made
the change stays logged in. A wrong current password counts as a failed login (same
audit kind, same throttle): the form must not become a way round login throttling for
someone holding a stolen session.

Messages are translated (the page's language); what an API client would read is not
involved: these are panel forms only.

The form is read through :class:`~web.schemas.account.PasswordChange` (bounded fields, no
unknown ones); the password rules are :func:`_problems`'. Either kind of problem is
shown next to its field (400).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.passwords import hash_password, verify_password
from controlplane.security import audit, panel_sessions
from controlplane.security.login_throttle import Attempt, LoginThrottle, device_hash
from web import known_devices
from web.auth import client_address, current_user, login_required, panel_session, user_agent
from web.errors import Invalid
from web.i18n import DEFAULT_LOCALE
from web.schemas.account import LanguageChoice, PasswordChange
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form

bp = Blueprint("account", __name__)

MIN_PASSWORD = 12
MAX_PASSWORD = 200


def _problems(current: str, new: str, confirm: str) -> dict[str, str]:
    """What is wrong with the form, by field (pure; the current password is checked later)."""
    problems = {}
    if not current:
        problems["current"] = _("enter your current password")
    if len(new) < MIN_PASSWORD:
        problems["new"] = _("at least %(n)d characters", n=MIN_PASSWORD)
    elif len(new) > MAX_PASSWORD:
        problems["new"] = _("at most %(n)d characters", n=MAX_PASSWORD)
    elif new == current:
        problems["new"] = _("must differ from the current password")
    if confirm != new:
        problems["confirm"] = _("does not match the new password")
    return problems


def _form(problems: dict[str, str] | None = None, status: int = 200) -> Any:
    with services().sessions() as s:
        user = s.get(User, current_user().id)
        chosen = (user.locale or "") if user is not None else ""
    return render_template("password.html", problems=problems or {}, chosen=chosen), status


@bp.get("/account/password")
@login_required()
def password() -> Any:
    return _form()


@bp.post("/account/password")
@login_required()
def change_password() -> Any:
    me, now = current_user(), clock(current_app)
    try:
        form = parse_form(PasswordChange)
    except Invalid as err:
        if not all(p.field in PasswordChange.model_fields for p in err.problems):
            raise  # a field the form has no place for: the error page names it
        return _form({p.field: p.message for p in err.problems}, 400)
    current, new, confirm = form.current, form.new, form.confirm
    problems = _problems(current, new, confirm)
    if problems:
        return _form(problems, 400)
    device = known_devices.device_for(current_app, request, me.address)
    attempt = Attempt(client_address(), me.address, device_hash(device) if device else None)
    svc = services()
    throttle = LoginThrottle(svc.redis, current_app.config["LOGIN_THROTTLE"])
    with svc.sessions() as s:
        wait = throttle.wait_s(s, attempt, now)
        user = s.get(User, me.id)
        ok = wait == 0 and user is not None and verify_password(user.password_hash, current)
    if wait:
        return _form({"current": _("too many failed attempts; try again in %(n)d s", n=wait)},
                     429)
    if not ok:
        throttle.record_failure(attempt, now)
        detail: dict[str, object] = {"reason": "bad_current_password", "via": "password_change",
                                     "user_agent": user_agent()}
        if attempt.device:
            detail["device"] = attempt.device
        with transaction(svc.sessions) as s:
            audit.record(s, "login.failed", tenant_id=me.tenant_id, actor=me.address,
                         source=attempt.address, detail=detail).at = now
        return _form({"current": _("wrong password")}, 400)
    return _changed(new)


def _changed(new: str) -> BaseResponse:
    me, sess, now = current_user(), panel_session(), clock(current_app)
    assert sess.info is not None  # login_required let us in
    new_hash = hash_password(new)
    with transaction(services().sessions) as s:
        user = s.get(User, me.id)
        assert user is not None
        user.password_hash = new_hash
        panel_sessions.set_password_fp(s, sess.info.id, new_hash)
        ended = panel_sessions.revoke_user(s, me.id, "password_changed", now, keep=sess.info.id)
        audit.record(s, "password.changed", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail={"session": sess.info.id})
        audit.record(s, "session.revoked", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(),
                     detail={"reason": "password_changed", "sessions": ended})
    flash(ngettext("password changed; %(num)d other session(s) ended",
                   "password changed; %(num)d other session(s) ended", ended), "ok")
    return redirect(url_for("account.password"))


@bp.post("/account/language")
@login_required()
def change_language() -> BaseResponse:
    """The user's panel language: ``pl``, ``en``, or empty for the tenant's."""
    me = current_user()
    choice = parse_form(LanguageChoice).locale or None
    with transaction(services().sessions) as s:
        user = s.get(User, me.id)
        assert user is not None  # login_required just loaded it
        before, user.locale = user.locale, choice
        tenant = s.get(Tenant, me.tenant_id)
        shown = choice or (tenant.locale if tenant is not None else None) or DEFAULT_LOCALE
        audit.record(s, "user.locale_changed", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail={"before": before, "after": choice})
    with force_locale(shown):  # the next page is in the new language: so is its notice
        flash(_("language saved"), "ok")
    return redirect(url_for("account.password"))
