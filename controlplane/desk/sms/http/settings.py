"""The SMS settings of a tenant, in the panel and the API (admins only, tenant-scoped).

Page ``/admin/sms``: the gateway account (provider, API URL and key, numbers, sender ID,
queue), the address and secret the gateway signs its posts with, the auto-reply, and the
reply templates; each text shows as you type whether it goes as GSM-7 or UCS-2 and in how
many SMS (``web/static/sms_segments.js``; the first count is rendered here). API:
``GET|PUT /api/v1/sms/account``, ``POST /api/v1/sms/account/secret``,
``GET|POST /api/v1/sms/templates``, ``GET|PUT|DELETE /api/v1/sms/templates/<id>``,
``POST /api/v1/sms/segments``. The rules are :mod:`controlplane.desk.sms.service`'s; every
change goes through the admin write path (transaction and audit line). The API key is
write-only; the inbound secret is answered once, when made.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin.exceptions import InvalidFields
from controlplane.admin.http.common import ADMIN, flash_applied, form_values, write
from controlplane.desk.sms import segments, service, store, texts
from controlplane.desk.sms.exceptions import NotConfigured
from controlplane.desk.sms.schemas import (
    AccountResponse,
    Deleted,
    SecretResponse,
    SegmentsBody,
    SegmentsResponse,
    SmsAccountBody,
    SmsTemplateBody,
    TemplateList,
    TemplateResponse,
)
from controlplane.models.acd import Queue
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("admin_sms", __name__)


def _save_account(values: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    tid, runtime = current_user().tenant_id, services().settings.runtime_dir

    def change(s: Session) -> tuple[dict[str, Any], str | None]:
        saved = service.save_account(s, tid, values, runtime)
        return service.account_json(saved.account), saved.inbound_secret

    (out, secret), _applied = write(
        change, "sms.account.saved",
        lambda r: {"fields": sorted(values), "secret_made": r[1] is not None},  # no secrets
        asterisk=False, acd=False)
    return out, secret


def _regenerate() -> str:
    tid, runtime = current_user().tenant_id, services().settings.runtime_dir

    def change(s: Session) -> str:
        row = store.account_of(s, tid)
        if row is None:
            raise NotConfigured("save the SMS account first")
        return service.regenerate_secret(s, row, runtime)

    secret, _applied = write(change, "sms.secret.regenerated", lambda _r: {},
                             asterisk=False, acd=False)
    return secret


def _save_template(template_id: int | None, values: dict[str, Any]) -> dict[str, Any]:
    tid = current_user().tenant_id

    def change(s: Session) -> dict[str, Any]:
        row = store.template(s, tid, template_id) if template_id is not None else None
        return service.template_json(service.save_template(s, tid, row, values))

    out, _applied = write(change, "sms.template.saved", lambda r: {"template": r["name"]},
                          asterisk=False, acd=False)
    return out


def _delete_template(template_id: int) -> None:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row = store.template(s, tid, template_id)
        name = row.name
        s.delete(row)
        return name

    write(change, "sms.template.deleted", lambda n: {"template": n}, asterisk=False, acd=False)


# --- page ----------------------------------------------------------------------------------


def _page(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          secret: str | None = None, template_values: dict[str, Any] | None = None,
          template_errors: dict[str, str] | None = None) -> str:
    tid, svc = current_user().tenant_id, services()
    with svc.sessions() as s:
        row = store.account_of(s, tid)
        account = service.account_json(row) if row else None
        templates = [service.template_json(t) for t in store.templates(s, tid)]
        queues = s.execute(select(Queue.id, Queue.name).where(Queue.tenant_id == tid)
                           .order_by(Queue.name)).all()
    if values is None:
        values = dict(account or {"provider": "http", "auto_reply_quiet_hours": 24,
                                  "active": True, "numbers": []})
        values["numbers"] = "\n".join(values.get("numbers") or [])
    reply_text = str(values.get("auto_reply_text") or "")
    return render_template(
        "admin_sms.html", account=account, values=values, errors=errors or {},
        secret=secret, templates=templates, queues=queues,
        template_values=template_values or {}, template_errors=template_errors or {},
        inbound_url=(svc.settings.public_url + account["inbound_path"]) if account else "",
        reply_count=segments.count(reply_text),
        template_count=segments.count(str((template_values or {}).get("body") or "")),
        gsm_basic=segments.GSM_BASIC, gsm_extended=segments.GSM_EXTENDED,
        parameter_hint=", ".join("{{ " + p + " }}" for p in texts.PARAMETERS))


@bp.get("/admin/sms")
@login_required(*ADMIN)
def index() -> Any:
    return _page()


@bp.post("/admin/sms")
@login_required(*ADMIN)
def save() -> Any:
    values = form_values()
    values["auto_reply_enabled"] = "auto_reply_enabled" in request.form  # unticked: not sent
    values["active"] = "active" in request.form
    values["numbers"] = values.get("numbers") or ""
    try:
        _out, secret = _save_account(values)
    except InvalidFields as err:
        return _page(values, err.by_field()), 422
    flash_applied(None, _("SMS settings saved"))
    if secret is not None:  # a new account: its secret is shown now, once
        return _page(secret=secret)
    return redirect(url_for("admin_sms.index"))


@bp.post("/admin/sms/secret")
@login_required(*ADMIN)
def regenerate() -> Any:
    return _page(secret=_regenerate())


@bp.post("/admin/sms/templates")
@login_required(*ADMIN)
def template_create() -> Any:
    values = form_values()
    try:
        _save_template(None, values)
    except InvalidFields as err:
        return _page(template_values=values, template_errors=err.by_field()), 422
    flash_applied(None, _("Template saved"))
    return redirect(url_for("admin_sms.index"))


@bp.post("/admin/sms/templates/<int:template_id>/delete")
@login_required(*ADMIN)
def template_delete(template_id: int) -> BaseResponse:
    _delete_template(template_id)
    flash_applied(None, _("Template deleted"))
    return redirect(url_for("admin_sms.index"))


# --- API ---------------------------------------------------------------------------------


@bp.get("/api/v1/sms/account")
@login_required(*ADMIN)
@validated()
@responds(AccountResponse)
def api_account() -> Any:
    """The tenant's SMS account (null before it is saved); never its secrets."""
    with services().sessions() as s:
        row = store.account_of(s, current_user().tenant_id)
        return jsonify({"account": service.account_json(row) if row else None})


@bp.put("/api/v1/sms/account")
@login_required(*ADMIN)
@validated(body=SmsAccountBody)
@responds(AccountResponse)
def api_account_save(body: SmsAccountBody) -> Any:
    """Create or change the account; fields not sent keep their value. When this creates
    the account, ``inbound_secret`` is in the answer, this once."""
    out, secret = _save_account(body.given())
    answer: dict[str, Any] = {"account": out}
    if secret is not None:
        answer["inbound_secret"] = secret
    return jsonify(answer)


@bp.post("/api/v1/sms/account/secret")
@login_required(*ADMIN)
@validated()
@responds(SecretResponse)
def api_regenerate() -> Any:
    """A new inbound secret (the old one stops working now), answered this once."""
    return jsonify({"inbound_secret": _regenerate()})


@bp.get("/api/v1/sms/templates")
@login_required(*ADMIN)
@validated()
@responds(TemplateList)
def api_templates() -> Any:
    with services().sessions() as s:
        rows = store.templates(s, current_user().tenant_id)
        return jsonify({"templates": [service.template_json(t) for t in rows]})


@bp.post("/api/v1/sms/templates")
@login_required(*ADMIN)
@validated(body=SmsTemplateBody)
@responds(TemplateResponse, 201)
def api_template_create(body: SmsTemplateBody) -> Any:
    return jsonify({"template": _save_template(None, body.given())}), 201


@bp.get("/api/v1/sms/templates/<int:template_id>")
@login_required(*ADMIN)
@validated()
@responds(TemplateResponse)
def api_template(template_id: int) -> Any:
    with services().sessions() as s:
        row = store.template(s, current_user().tenant_id, template_id)
        return jsonify({"template": service.template_json(row)})


@bp.put("/api/v1/sms/templates/<int:template_id>")
@login_required(*ADMIN)
@validated(body=SmsTemplateBody)
@responds(TemplateResponse)
def api_template_update(template_id: int, body: SmsTemplateBody) -> Any:
    return jsonify({"template": _save_template(template_id, body.given())})


@bp.delete("/api/v1/sms/templates/<int:template_id>")
@login_required(*ADMIN)
@validated()
@responds(Deleted)
def api_template_delete(template_id: int) -> Any:
    _delete_template(template_id)
    return jsonify({"deleted": template_id})


@bp.post("/api/v1/sms/segments")
@login_required(*ADMIN)
@validated(body=SegmentsBody)
@responds(SegmentsResponse)
def api_segments(body: SegmentsBody) -> Any:
    """How ``text`` goes: GSM-7 or UCS-2 (and which characters force it), in how many SMS."""
    return jsonify({"segments": segments.count(body.text).to_json()})
