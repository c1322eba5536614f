"""The admin's agent-desktop page (``/admin/desktop``): the screen-pop URL and how it opens,
and the tenant's dispositions for every call. Same rules and writes as the API
(:mod:`.api`); a refused value comes back on the page next to its field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.desktop.exceptions import InvalidField
from controlplane.desktop.http.api import delete_disposition, save_disposition, save_settings
from controlplane.desktop.http.card import settings_of
from controlplane.desktop.wrapup import tenant_dispositions
from controlplane.models import Role
from controlplane.models.desktop import CODE_MAX, LABEL_MAX
from web.auth import current_user, login_required
from web.services import services

bp = Blueprint("desktop_admin", __name__)

_CODE_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _page(errors: dict[str, str], values: dict[str, Any] | None = None) -> Any:
    user = current_user()
    with services().sessions() as s:
        st = settings_of(s, user.tenant_id)
        rows = [{"code": d.code, "label": d.label} for d in tenant_dispositions(s, user.tenant_id)]
    shown = values or {"screen_pop_url": st.screen_pop_url if st else "",
                       "screen_pop_mode": st.screen_pop_mode if st else "tab",
                       "supervision_notice": bool(st and st.supervision_notice)}
    return render_template("admin_desktop.html", values=shown, dispositions=rows,
                           errors=errors), 422 if errors else 200


@bp.after_app_request
def frame_screen_pop(resp: Response) -> Response:
    """The agent page may frame the tenant's screen pop (CSP ``frame-src`` its origin only):
    the panel's policy allows no frames otherwise."""
    if request.endpoint != "agents.me" or resp.mimetype != "text/html":
        return resp
    user = g.get("centrala_user")  # set by login_required on the agent page
    if user is None:
        return resp
    with services().sessions() as s:
        st = settings_of(s, user.tenant_id)
    if st is None or st.screen_pop_mode != "iframe" or not st.screen_pop_url:
        return resp
    parts = urlsplit(st.screen_pop_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if "{" in origin or not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+", origin):
        return resp  # a placeholder in the host: no frame (the new-tab mode still works)
    policy = resp.headers.get("Content-Security-Policy") or current_app.config.get(
        "CONTENT_SECURITY_POLICY", "")
    resp.headers["Content-Security-Policy"] = f"{policy}; frame-src {origin}"
    return resp


@bp.get("/admin/desktop")
@login_required(Role.ADMIN)
def index() -> Any:
    return _page({})


@bp.post("/admin/desktop")
@login_required(Role.ADMIN)
def save() -> Any:
    values = {"screen_pop_url": request.form.get("screen_pop_url", ""),
              "screen_pop_mode": request.form.get("screen_pop_mode", "tab"),
              "supervision_notice": request.form.get("supervision_notice") == "on"}
    try:
        save_settings(values["screen_pop_url"], values["screen_pop_mode"],
                      values["supervision_notice"])
    except InvalidField as err:
        return _page({err.field: _("Not a safe screen-pop address: it must start with "
                                   "https:// or http://, name a host and use only "
                                   "{number}, {call_id} and {queue}.")
                      if err.field == "screen_pop_url" else _("Choose tab or frame.")}, values)
    flash(_("Saved."), "ok")
    return redirect(url_for("desktop_admin.index"))


@bp.post("/admin/desktop/dispositions")
@login_required(Role.ADMIN)
def add_disposition() -> Any:
    code = request.form.get("code", "").strip()
    label = request.form.get("label", "").strip()
    if not code or len(code) > CODE_MAX or set(code) - _CODE_OK:
        return _page({"code": _("A code of 1–32 letters, digits, dots, dashes or "
                                "underscores.")})
    if len(label) > LABEL_MAX or any(ord(c) < 32 for c in label):
        return _page({"label": _("A label of at most 100 characters on one line.")})
    save_disposition(code, label, 0)
    flash(_("Saved."), "ok")
    return redirect(url_for("desktop_admin.index"))


@bp.post("/admin/desktop/dispositions/<string:code>/delete")
@login_required(Role.ADMIN)
def retire(code: str) -> BaseResponse:
    if delete_disposition(code[:64]):
        flash(_("Disposition removed from the list."), "ok")
    return redirect(url_for("desktop_admin.index"))
