"""Phones in the panel and the API: list, create, edit, delete, credentials, QR, registration.

Pages (admins): ``/admin/phones`` (paged, filtered, sorted; each phone's user, SIP URI and
live registration), ``/admin/phones/new``, ``/admin/phones/<id>`` (edit, delete),
``POST /admin/phones/<id>/credentials`` (shows the SIP password and a QR code for a
softphone; every showing is audited) and ``…/credentials/regenerate``.

API: ``GET|POST /api/v1/phones``, ``GET|PUT|DELETE /api/v1/phones/<id>``,
``POST /api/v1/phones/<id>/credentials`` and ``…/credentials/regenerate``. A create
answers the credentials once, with ``applied`` (what reached Asterisk).

Registration state is the daemon's: it keeps PJSIP contact states from AMI
(``ContactStatus``) in ``centrala:contacts``; the panel reads that hash, never AMI.
"""

from __future__ import annotations

from typing import Any

import redis
import segno
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import service, store
from controlplane.admin.exceptions import ConfigRefused, InvalidFields
from controlplane.admin.http.common import (
    ADMIN,
    flash_applied,
    form_values,
    list_args,
    write,
)
from controlplane.admin.schemas import ListQuery, PhoneBody
from controlplane.bus import CONTACTS_KEY
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("admin_phones", __name__)


def _server() -> tuple[str, int]:
    settings = services().settings
    return settings.bind_address, settings.platform.sip


def _contacts(names: list[str]) -> dict[str, str | None]:
    """Contact state of each phone from the daemon's hash; None where unknown or Redis down."""
    if not names:
        return {}
    try:
        values = services().redis.hmget(CONTACTS_KEY, names)
    except redis.RedisError:
        return dict.fromkeys(names)
    return {n: (v.decode() if isinstance(v, bytes) else v) for n, v in zip(names, values, strict=True)}


def _json(phone: PhoneEndpoint, login: str | None) -> dict[str, Any]:
    host, port = _server()
    return service.phone_json(phone, login, _contacts([phone.name])[phone.name], f"{host}:{port}")


def _listing(args: dict[str, Any]) -> tuple[list[dict[str, Any]], store.Page]:
    tid = current_user().tenant_id
    host, port = _server()
    with services().sessions() as s:
        page = store.phones(s, tid, **args)
        states = _contacts([p.name for p, _ in page.rows])
        rows = [service.phone_json(p, login, states[p.name], f"{host}:{port}")
                for p, login in page.rows]
    return rows, page


def _save(phone_id: int | None, values: dict[str, Any]) -> tuple[int, dict[str, Any], Any]:
    me = current_user()

    def change(s: Session) -> tuple[int, dict[str, Any], str]:
        phone = store.phone(s, me.tenant_id, phone_id) if phone_id is not None else None
        saved = service.save_phone(s, me.tenant_id, me.tenant_domain, phone, values)
        host, port = _server()
        return saved.id, service.credentials(saved, host, port), saved.name

    (saved_id, creds, name), applied = write(
        change, "phone.created" if phone_id is None else "phone.updated",
        lambda r: {"phone": r[2], "fields": sorted(values)})
    return saved_id, creds, applied


def _credentials(phone_id: int, regenerate: bool) -> dict[str, Any]:
    """The phone's credentials (a new password when ``regenerate``); audited either way."""
    me = current_user()
    host, port = _server()
    if regenerate:
        def change(s: Session) -> dict[str, Any]:
            phone = store.phone(s, me.tenant_id, phone_id)
            service.regenerate_secret(phone)
            return service.credentials(phone, host, port)
        creds, applied = write(change, "phone.credentials.regenerated",
                               lambda c: {"phone": c["username"]})
        return {**creds, "applied": applied.to_json() if applied else None}
    with transaction(services().sessions) as s:
        phone = store.phone(s, me.tenant_id, phone_id)
        audit.record(s, "phone.credentials.shown", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail={"phone": phone.name})
        return service.credentials(phone, host, port)


def _delete(phone_id: int) -> Any:
    me = current_user()

    def change(s: Session) -> str:
        phone = store.phone(s, me.tenant_id, phone_id)
        name = phone.name
        service.delete_phone(s, phone)
        return name

    return write(change, "phone.deleted", lambda name: {"phone": name})


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG ``data:`` URI (the CSP allows ``img-src data:``)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))


# ---- pages ----

@bp.get("/admin/phones")
@login_required(*ADMIN)
def index() -> Any:
    args = list_args()
    try:
        rows, page = _listing(args)
    except InvalidFields:
        rows, page = _listing({**args, "sort": None})
    return render_template("admin_phones.html", rows=rows, page=page, args=args)


def _form(phone_id: int | None, values: dict[str, Any], errors: dict[str, str],
          problems: list[str]) -> str:
    with services().sessions() as s:
        users = [(u.id, u.display_name or u.login, u.login)
                 for u in store.users(s, current_user().tenant_id)]
    return render_template("admin_phone_form.html", phone_id=phone_id, values=values,
                           errors=errors, problems=problems, users=users,
                           transports=service.TRANSPORTS)


@bp.route("/admin/phones/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/admin/phones/<int:phone_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(phone_id: int) -> Any:
    return _edit(phone_id)


def _edit(phone_id: int | None) -> Any:
    if request.method == "GET":
        values: dict[str, Any] = {"transport": "udp"}
        if phone_id is not None:
            with services().sessions() as s:
                phone = store.phone(s, current_user().tenant_id, phone_id)
                values = _json(phone, None)
        return _form(phone_id, values, {}, [])
    values = form_values()
    try:
        saved, _creds, applied = _save(phone_id, values)
    except InvalidFields as err:
        return _form(phone_id, values, err.by_field(), []), 422
    except ConfigRefused as err:
        return _form(phone_id, values, {}, [str(p) for p in err.problems]), 422
    flash_applied(applied, _("Phone saved") if phone_id else _("Phone created"))
    return redirect(url_for("admin_phones.edit", phone_id=saved))


@bp.post("/admin/phones/<int:phone_id>/delete")
@login_required(*ADMIN)
def delete(phone_id: int) -> BaseResponse:
    _name, applied = _delete(phone_id)
    flash_applied(applied, _("Phone deleted"))
    return redirect(url_for("admin_phones.index"))


@bp.post("/admin/phones/<int:phone_id>/credentials")
@login_required(*ADMIN)
def show_credentials(phone_id: int) -> Any:
    creds = _credentials(phone_id, regenerate=False)
    return render_template("admin_phone_credentials.html", phone_id=phone_id, creds=creds,
                           qr=qr_data_uri(creds["provisioning"]), regenerated=False)


@bp.post("/admin/phones/<int:phone_id>/credentials/regenerate")
@login_required(*ADMIN)
def regenerate(phone_id: int) -> Any:
    creds = _credentials(phone_id, regenerate=True)
    if creds["applied"] and not creds["applied"]["ok"]:
        flash(_("New password saved, but not applied to Asterisk yet: %(error)s",
                error=creds["applied"]["error"]), "error")
    return render_template("admin_phone_credentials.html", phone_id=phone_id, creds=creds,
                           qr=qr_data_uri(creds["provisioning"]), regenerated=True)


# ---- API ----

@bp.get("/api/v1/phones")
@login_required(*ADMIN)
@validated(query=ListQuery)
def api_list(query: ListQuery) -> Any:
    rows, page = _listing(query.model_dump())
    return jsonify({"phones": rows, **page.meta()})


@bp.post("/api/v1/phones")
@login_required(*ADMIN)
@validated(body=PhoneBody)
def api_create(body: PhoneBody) -> Any:
    saved, creds, applied = _save(None, body.given())
    return _api_phone(saved, credentials=creds, applied=applied), 201


@bp.get("/api/v1/phones/<int:phone_id>")
@login_required(*ADMIN)
@validated()
def api_get(phone_id: int) -> Any:
    return _api_phone(phone_id)


@bp.put("/api/v1/phones/<int:phone_id>")
@login_required(*ADMIN)
@validated(body=PhoneBody)
def api_update(phone_id: int, body: PhoneBody) -> Any:
    """Fields not sent keep their value; ``"user_id": null`` unassigns the phone."""
    saved, _creds, applied = _save(phone_id, body.given())
    return _api_phone(saved, applied=applied)


@bp.delete("/api/v1/phones/<int:phone_id>")
@login_required(*ADMIN)
@validated()
def api_delete(phone_id: int) -> Any:
    _name, applied = _delete(phone_id)
    return jsonify({"deleted": phone_id, "applied": applied.to_json() if applied else None})


@bp.post("/api/v1/phones/<int:phone_id>/credentials")
@login_required(*ADMIN)
@validated()
def api_credentials(phone_id: int) -> Any:
    return jsonify({"credentials": _credentials(phone_id, regenerate=False)})


@bp.post("/api/v1/phones/<int:phone_id>/credentials/regenerate")
@login_required(*ADMIN)
@validated()
def api_regenerate(phone_id: int) -> Any:
    creds = _credentials(phone_id, regenerate=True)
    applied = creds.pop("applied")
    return jsonify({"credentials": creds, "applied": applied})


def _api_phone(phone_id: int, **extra: Any) -> Any:
    with services().sessions() as s:
        phone = store.phone(s, current_user().tenant_id, phone_id)
        user = store.user(s, phone.tenant_id, phone.user_id) if phone.user_id else None
        out: dict[str, Any] = {"phone": _json(phone, user.login if user else None)}
    if "credentials" in extra:
        out["credentials"] = extra["credentials"]
    if "applied" in extra:
        out["applied"] = extra["applied"].to_json() if extra["applied"] else None
    return jsonify(out)
