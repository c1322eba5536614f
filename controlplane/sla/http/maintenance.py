"""Maintenance windows and the statement in the panel and the API; the banner of every page.

``/sla/maintenance`` (operator): announce a window for one tenant or the platform, at
least :func:`controlplane.sla.maintenance.notice_hours` ahead, and list the coming ones.
``GET /api/v1/sla/maintenance`` (anyone: the tenant's and the platform's windows; the
operator: all) and ``POST`` (operator). ``GET /api/v1/sla/statement?period=YYYY-MM``
(admins): the statement ``centrala sla report --json`` prints, for the caller's tenant.

The banner: a context processor gives every template ``sla_banner()``, which
``sla_banner.html`` (included by ``base.html``) calls once per page for a logged-in
tenant user: the windows running now or beginning within 48 h.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.db import transaction
from controlplane.models import Role, Tenant
from controlplane.models.sla import SlaMaintenance
from controlplane.sla import maintenance, service
from controlplane.sla.http.schemas import (
    MaintenanceBody,
    MaintenanceForm,
    MaintenanceList,
    MaintenanceOut,
    StatementOut,
    StatementQuery,
)
from web.api.responses import responds
from web.auth import client_address, current_user, login_required
from web.errors import FieldProblem, Invalid
from web.services import services
from web.session_cookie import clock
from web.validation import validated

bp = Blueprint("sla_maintenance", __name__)

EVERYONE = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.OPERATOR)


def _scope() -> int | None:
    """The tenant whose windows the caller sees; None: the operator sees them all."""
    me = current_user()
    return None if me.role is Role.OPERATOR else me.tenant_id


def _out(s: Session, rows: list[SlaMaintenance]) -> list[dict[str, Any]]:
    ids = {r.tenant_id for r in rows if r.tenant_id is not None}
    domains = dict(s.execute(select(Tenant.id, Tenant.domain).where(Tenant.id.in_(ids))).all()) \
        if ids else {}
    return [MaintenanceOut(id=r.id, tenant=domains.get(r.tenant_id) if r.tenant_id else None,
                           announced_at=r.announced_at, starts_at=r.starts_at,
                           ends_at=r.ends_at, reason=r.reason).model_dump(mode="json")
            for r in rows]


def _moment(value: str, field: str, zone: str, *, local: bool) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        if not local:
            raise Invalid([FieldProblem(field, "must carry a UTC offset (…+01:00 or …Z)",
                                        f"/{field}")])
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def _announce(starts: str, ends: str, reason: str, domain: str | None, *, local: bool) -> int:
    me = current_user()
    with transaction(services().sessions) as s:
        tenant_id = None
        if domain:
            tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == domain))
            if tenant_id is None:
                raise Invalid([FieldProblem("tenant", f"no tenant {domain!r}", "/tenant")])
        row = maintenance.announce(
            s, tenant_id, starts_at=_moment(starts, "starts_at", me.time_zone, local=local),
            ends_at=_moment(ends, "ends_at", me.time_zone, local=local), reason=reason,
            actor=me.address, source=client_address(), now=clock(current_app))
        return row.id


# ---- the banner on every page ----

def _banner() -> list[SlaMaintenance]:
    if "sla_banner" not in g:
        me = getattr(g, "centrala_user", None)
        g.sla_banner = []
        if me is not None and me.role is not Role.OPERATOR:
            with services().sessions() as s:
                g.sla_banner = maintenance.banner(s, me.tenant_id, clock(current_app))
                s.expunge_all()
    return list(g.sla_banner)


def _windows() -> list[dict[str, Any]]:
    """The coming and running windows the current user sees (for ``/sla``)."""
    with services().sessions() as s:
        windows = _out(s, maintenance.for_tenant(s, _scope(), since=clock(current_app)))
    for w in windows:
        for key in ("starts_at", "ends_at", "announced_at"):
            w[key] = datetime.fromisoformat(w[key])
    return windows


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"sla_banner": _banner, "sla_windows": _windows}


# ---- pages ----

@bp.route("/sla/maintenance", methods=["GET"])
@login_required(*EVERYONE)
def index() -> Any:
    return _page({}, {})


def _page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    with services().sessions() as s:
        tenants = list(s.scalars(select(Tenant.domain).order_by(Tenant.domain))) \
            if current_user().role is Role.OPERATOR else []
    return render_template("sla_maintenance.html", windows=_windows(), values=values,
                           errors=errors, tenants=tenants,
                           notice=maintenance.notice_hours(),
                           operator=current_user().role is Role.OPERATOR), status


@bp.post("/sla/maintenance")
@login_required(Role.OPERATOR)
@validated(form=MaintenanceForm)
def announce(form: MaintenanceForm) -> Any:
    try:
        _announce(form.starts_at, form.ends_at, form.reason, form.tenant or None, local=True)
    except maintenance.BadWindow as err:
        return _page(form.model_dump(), {err.details["field"]: err.details["message"]}, 422)
    except Invalid as err:
        return _page(form.model_dump(), {p.field: p.message for p in err.problems}, 422)
    flash(gettext("Maintenance window announced."))
    return redirect(url_for("sla_maintenance.index"))


# ---- API ----

@bp.get("/api/v1/sla/maintenance")
@login_required(*EVERYONE)
@validated()
@responds(MaintenanceList)
def api_list() -> Any:
    with services().sessions() as s:
        rows = maintenance.for_tenant(s, _scope(), since=clock(current_app))
        return jsonify({"notice_hours": maintenance.notice_hours(), "windows": _out(s, rows)})


@bp.post("/api/v1/sla/maintenance")
@login_required(Role.OPERATOR)
@validated(body=MaintenanceBody)
@responds(MaintenanceOut, 201)
def api_announce(body: MaintenanceBody) -> Any:
    new_id = _announce(body.starts_at, body.ends_at, body.reason, body.tenant, local=False)
    with services().sessions() as s:
        row = s.get(SlaMaintenance, new_id)
        assert row is not None
        return jsonify(_out(s, [row])[0]), 201


@bp.get("/api/v1/sla/statement")
@login_required(Role.ADMIN, Role.OPERATOR)
@validated(query=StatementQuery)
@responds(StatementOut)
def api_statement(query: StatementQuery) -> Any:
    """The caller's tenant's statement; the operator names the tenant (``tenant=DOMAIN``)."""
    me = current_user()
    if me.role is Role.OPERATOR and not query.tenant:
        raise Invalid([FieldProblem("tenant", "the operator names the tenant (tenant=DOMAIN)",
                                    "")], parameters=True)
    if me.role is not Role.OPERATOR and query.tenant not in (None, me.tenant_domain):
        raise Invalid([FieldProblem("tenant", "only the platform operator names another tenant",
                                    "")], parameters=True)
    domain = query.tenant if me.role is Role.OPERATOR and query.tenant else me.tenant_domain
    with services().sessions() as s:
        tenant, statement = service.report(s, domain, query.period, clock(current_app))
        return jsonify(service.as_dict(tenant, query.period, statement))
