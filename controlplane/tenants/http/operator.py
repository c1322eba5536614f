"""The platform operator's pages and API: every tenant, and the local catcher's mail.

* ``/operator/tenants`` -- list (with each tenant's user count), the create form (the
  fields and rules of ``centrala tenant create``: the first administrator gets an
  activation link), and per tenant ``/operator/tenants/<id>``: edit name, licences,
  language, time zone; deactivate or reactivate.
* ``/operator/mail`` -- the messages the local catcher kept (subject, to, time, text).
* ``GET/POST /api/v1/tenants``, ``GET/PATCH /api/v1/tenants/<id>`` -- the same in JSON;
  ``PATCH {"active": false}`` deactivates.

Only ``Role.OPERATOR`` reaches them (403 for everyone else). Deactivating a tenant ends
every panel session of its users at once; login refuses them while it stays inactive.
Every change is an audit row naming the operator.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.mail import mailbox
from controlplane.models import Role, Tenant, User
from controlplane.security import audit, panel_sessions
from controlplane.tenants import service, store
from controlplane.tenants.exceptions import TenantNotFound
from controlplane.tenants.schemas import (
    LOCALES,
    TenantCreate,
    TenantCreateForm,
    TenantEditForm,
    TenantsQuery,
    TenantUpdate,
)
from web.auth import client_address, current_user, login_required
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, problems, validated

bp = Blueprint("operator", __name__)


def tenant_json(t: Tenant, users: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.id, "domain": t.domain, "name": t.name,
                           "licences": t.licences, "locale": t.locale,
                           "time_zone": t.time_zone, "active": t.active,
                           "created_at": t.created_at.isoformat()}
    if users is not None:
        out["users"] = users
    return out


def _customer(s: Session, tenant_id: int) -> Tenant:
    tenant = s.get(Tenant, tenant_id)
    if tenant is None or tenant.domain == store.OPERATOR_DOMAIN:
        raise TenantNotFound(f"no tenant {tenant_id}")
    return tenant


def _listing(q: TenantsQuery) -> tuple[list[tuple[Tenant, int]], int]:
    users = (select(User.tenant_id, func.count(User.id).label("n")).group_by(User.tenant_id)
             .subquery())
    query = (select(Tenant, func.coalesce(users.c.n, 0)).outerjoin(users,
                                                                   users.c.tenant_id == Tenant.id)
             .where(Tenant.domain != store.OPERATOR_DOMAIN))
    if q.q:
        like = f"%{q.q.lower()}%"
        query = query.where(or_(func.lower(Tenant.domain).like(like),
                                func.lower(Tenant.name).like(like)))
    if q.active is not None:
        query = query.where(Tenant.active.is_(q.active))
    with services().sessions() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.execute(query.order_by(Tenant.domain).offset(q.offset).limit(q.limit)).all()
        return [(t, int(n)) for t, n in rows], int(total)


def create(req: TenantCreate) -> service.Created:
    me = current_user()
    return service.create_tenant(services().sessions, req, by=me.address,
                                 source=client_address(), now=clock(current_app))


def update(tenant_id: int, changes: dict[str, Any]) -> Tenant:
    """Apply ``changes`` (fields of :class:`TenantUpdate`); deactivating ends sessions."""
    me, now = current_user(), clock(current_app)
    with transaction(services().sessions) as s:
        tenant = _customer(s, tenant_id)
        before = {k: getattr(tenant, k) for k in changes}
        for key, value in changes.items():
            setattr(tenant, key, value)
        ended = 0
        if changes.get("active") is False and before.get("active"):
            for uid in s.scalars(select(User.id).where(User.tenant_id == tenant.id)):
                ended += panel_sessions.revoke_user(s, uid, "tenant_inactive", now)
        audit.record(s, "tenant.updated", tenant_id=tenant.id, actor=me.address,
                     source=client_address(),
                     detail={"before": before, "after": changes, "sessions_ended": ended})
        s.flush()
        s.refresh(tenant)
        s.expunge(tenant)
        return tenant


# --- pages --------------------------------------------------------------------------


def _form_values(form: Any) -> dict[str, Any]:
    values = {k: v.strip() for k, v in form.model_dump().items() if v.strip()}
    if "licences" in values:
        with contextlib.suppress(ValueError):  # else the schema says "must be a whole number"
            values["licences"] = int(values["licences"])
    return values


def _page(create_problems: dict[str, str] | None = None, form: dict[str, Any] | None = None,
          status: int = 200) -> Any:
    rows, _total = _listing(TenantsQuery())
    return render_template("operator_tenants.html", rows=rows, problems=create_problems or {},
                           form=form or {}, locales=LOCALES), status


@bp.get("/operator/tenants")
@login_required(Role.OPERATOR)
def tenants() -> Any:
    return _page()


@bp.post("/operator/tenants")
@login_required(Role.OPERATOR)
def tenants_create() -> Any:
    values = _form_values(parse_form(TenantCreateForm))
    try:
        req = TenantCreate.model_validate(values)
    except ValidationError as err:
        return _page({p.field: p.message for p in problems(err, TenantCreate)}, values, 400)
    created = create(req)
    flash(_("Tenant %(domain)s created; the activation link was mailed to %(email)s.",
            domain=req.domain, email=req.admin_email), "ok")
    return redirect(url_for("operator.tenant", tenant_id=created.tenant_id))


@bp.get("/operator/tenants/<int:tenant_id>")
@login_required(Role.OPERATOR)
def tenant(tenant_id: int, edit_problems: dict[str, str] | None = None, status: int = 200
           ) -> Any:
    with services().sessions() as s:
        row = _customer(s, tenant_id)
        admins = s.scalars(select(User).where(User.tenant_id == tenant_id,
                                              User.role == Role.ADMIN).order_by(User.login)).all()
        return render_template("operator_tenant.html", tenant=row, admins=admins,
                               problems=edit_problems or {}, locales=LOCALES), status


@bp.post("/operator/tenants/<int:tenant_id>")
@login_required(Role.OPERATOR)
def tenant_update(tenant_id: int) -> Any:
    values = _form_values(parse_form(TenantEditForm))
    try:
        changes = TenantUpdate.model_validate(values).given()
    except ValidationError as err:
        return tenant(tenant_id, {p.field: p.message for p in problems(err, TenantUpdate)}, 400)
    update(tenant_id, changes)
    flash(_("Saved."), "ok")
    return redirect(url_for("operator.tenant", tenant_id=tenant_id))


@bp.post("/operator/tenants/<int:tenant_id>/active")
@login_required(Role.OPERATOR)
def tenant_active(tenant_id: int) -> BaseResponse:
    with services().sessions() as s:
        active = _customer(s, tenant_id).active
    update(tenant_id, {"active": not active})
    flash(_("Tenant deactivated; its users were logged out.") if active
          else _("Tenant reactivated."), "ok")
    return redirect(url_for("operator.tenant", tenant_id=tenant_id))


@bp.get("/operator/mail")
@login_required(Role.OPERATOR)
def mail() -> Any:
    settings = services().settings
    return render_template("operator_mail.html", mails=mailbox.messages(settings.mail_dir),
                           external=settings.smtp_external, folder=settings.mail_dir)


# --- API ----------------------------------------------------------------------------


@bp.get("/api/v1/tenants")
@login_required(Role.OPERATOR)
@validated(query=TenantsQuery)
def api_list(query: TenantsQuery) -> Any:
    rows, total = _listing(query)
    return jsonify({"tenants": [tenant_json(t, n) for t, n in rows], "total": total,
                    "offset": query.offset, "limit": query.limit})


@bp.post("/api/v1/tenants")
@login_required(Role.OPERATOR)
@validated(body=TenantCreate)
def api_create(body: TenantCreate) -> Any:
    created = create(body)
    with services().sessions() as s:
        row = _customer(s, created.tenant_id)
        return jsonify({"tenant": tenant_json(row, 1), "admin": created.address}), 201


@bp.get("/api/v1/tenants/<int:tenant_id>")
@login_required(Role.OPERATOR)
@validated()
def api_get(tenant_id: int) -> Any:
    with services().sessions() as s:
        return jsonify({"tenant": tenant_json(_customer(s, tenant_id))})


@bp.patch("/api/v1/tenants/<int:tenant_id>")
@login_required(Role.OPERATOR)
@validated(body=TenantUpdate)
def api_update(tenant_id: int, body: TenantUpdate) -> Any:
    return jsonify({"tenant": tenant_json(update(tenant_id, body.given()))})

