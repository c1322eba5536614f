"""The pages behind the mailed links, and "Forgot password?".

* ``GET/POST /activate/<secret>`` -- a new account sets its password, then is logged in.
* ``GET/POST /password/forgot`` -- asks for a reset link. The answer is the same whether
  or not the address has an account (nothing to learn by probing), and the same when the
  throttle (:data:`~controlplane.tenants.service.RESETS_PER_ACCOUNT_HOUR`) held the mail.
* ``GET/POST /password/reset/<secret>`` -- sets a new password; every session of the user
  ends; then the login page.

A link that is unknown, used or expired gets a page saying which, and how to get a new
one (404 or 410), never a form. The password rules are :mod:`web.account`'s.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.security import panel_sessions
from controlplane.tenants import service
from controlplane.tenants.exceptions import BadLink
from controlplane.tenants.schemas import PasswordSet, ResetRequest
from controlplane.tenants.tokens import Purpose
from web.account import MAX_PASSWORD, MIN_PASSWORD
from web.auth import client_address, public
from web.errors import Invalid
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form

bp = Blueprint("links", __name__)


def password_problems(form: PasswordSet) -> dict[str, str]:
    """What is wrong with a new password, by field (the rules of ``web.account``)."""
    problems = {}
    if len(form.password) < MIN_PASSWORD:
        problems["password"] = _("at least %(n)d characters", n=MIN_PASSWORD)
    elif len(form.password) > MAX_PASSWORD:
        problems["password"] = _("at most %(n)d characters", n=MAX_PASSWORD)
    if form.confirm != form.password:
        problems["confirm"] = _("does not match the password")
    return problems


def _bad_link(err: BadLink, purpose: Purpose) -> Any:
    messages = {
        "unknown": _("This link is not valid. It may have been mistyped or replaced by a "
                     "newer one."),
        "used": _("This link has already been used. Each link works only once."),
        "expired": _("This link has expired."),
        "inactive": _("This account is deactivated."),
    }
    return render_template("link_invalid.html", message=messages[err.reason],
                           purpose=purpose.value), err.status


def _check(secret: str, purpose: Purpose) -> BadLink | None:
    with services().sessions() as s:
        try:
            service.check_link(s, secret, purpose, clock(current_app))
        except BadLink as err:
            return err
    return None


def _form(secret: str, purpose: Purpose, problems: dict[str, str] | None = None,
          status: int = 200) -> Any:
    return render_template("link_password.html", secret=secret, purpose=purpose.value,
                           problems=problems or {}), status


def _read(secret: str, purpose: Purpose) -> PasswordSet | Any:
    try:
        return parse_form(PasswordSet)
    except Invalid as err:
        return _form(secret, purpose, {p.field: p.message for p in err.problems}, 400)


def _page(secret: str, purpose: Purpose) -> Any:
    bad = _check(secret, purpose)
    return _bad_link(bad, purpose) if bad else _form(secret, purpose)


def _submit(secret: str, purpose: Purpose) -> Any:
    form = _read(secret, purpose)
    if not isinstance(form, PasswordSet):
        return form
    problems = password_problems(form)
    if problems:
        bad = _check(secret, purpose)
        return _bad_link(bad, purpose) if bad else _form(secret, purpose, problems, 400)
    try:
        used = service.use_link(services().sessions, secret, purpose, form.password,
                                source=client_address(), now=clock(current_app))
    except BadLink as err:
        return _bad_link(err, purpose)
    if purpose is Purpose.RESET:
        flash(_("Your password was changed and all your sessions ended. Log in with the "
                "new password."), "ok")
        return redirect(url_for("auth.login"))
    return _log_in(used)


def _log_in(used: service.Used) -> BaseResponse:
    """Log the freshly activated user in through the same steps as a login (IP allow-list,
    second factor, licences, one workstation: :mod:`web.login_access`)."""
    from web.login_access import Pending, proceed  # it imports the auth module, as we do

    flash(_("Your account is active. Welcome!"), "ok")
    return proceed(Pending(
        user_id=used.user_id, tenant_id=used.tenant_id, account=used.address,
        password_fp=panel_sessions.password_fingerprint(used.password_hash), next_url=None))


@bp.get("/activate/<secret>")
@public
def activate(secret: str) -> Any:
    return _page(secret, Purpose.ACTIVATION)


@bp.post("/activate/<secret>")
@public
def activate_submit(secret: str) -> Any:
    return _submit(secret, Purpose.ACTIVATION)


@bp.get("/password/reset/<secret>")
@public
def reset(secret: str) -> Any:
    return _page(secret, Purpose.RESET)


@bp.post("/password/reset/<secret>")
@public
def reset_submit(secret: str) -> Any:
    return _submit(secret, Purpose.RESET)


@bp.get("/password/forgot")
@public
def forgot() -> Any:
    return render_template("password_forgot.html", sent=False)


@bp.post("/password/forgot")
@public
def forgot_submit() -> Any:
    try:
        form = parse_form(ResetRequest)
    except Invalid:
        form = ResetRequest()
    if form.address.strip():
        service.request_reset(services().sessions, form.address, source=client_address(),
                              now=clock(current_app))
    # The same page whatever happened: whether an account exists is not for strangers.
    return render_template("password_forgot.html", sent=True)
