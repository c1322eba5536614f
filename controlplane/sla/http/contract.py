"""The SLA contract in the panel and the API: a tenant's terms and its credit claims.

``/sla/contract/<tenant id>`` (operator): set the tenant's level, monthly fee and support
address; see its claims and grant or refuse the pending ones. ``/sla`` (the tenant's admins)
shows the claims and a button to claim the last closed month while its 30-day window is
open (``POST /sla/claims``). The API: ``GET|PUT /api/v1/tenants/<id>/sla-terms``
(operator), ``GET /api/v1/sla/terms`` (admins: their own), ``GET|POST /api/v1/sla/claims``
(admins: their tenant's; the operator lists all), ``PATCH /api/v1/sla/claims/<id>``
(operator). The rules live in :mod:`controlplane.sla.contract`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.db import transaction
from controlplane.models import Role, Tenant
from controlplane.models.sla import SlaClaim, SlaSettings
from controlplane.sla import contract
from controlplane.sla.calendar import Level
from controlplane.sla.http.pages import LEVELS
from controlplane.sla.http.schemas import (
    ClaimBody,
    ClaimForm,
    ClaimList,
    ClaimOut,
    DecisionBody,
    DecisionForm,
    TermsBody,
    TermsForm,
    TermsOut,
)
from web.api.responses import responds
from web.auth import client_address, current_user, login_required
from web.errors import Invalid, NotFound
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, validated

bp = Blueprint("sla_contract", __name__)

def _tenant(s: Session, tenant_id: int) -> Tenant:
    tenant = s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


def _terms_out(tenant: Tenant, row: SlaSettings | None) -> dict[str, Any]:
    return TermsOut(tenant=tenant.domain, level=row.level if row else None,
                    monthly_fee=str(row.monthly_fee) if row else None,
                    support_email=row.support_email if row else "").model_dump(mode="json")


def _claims_out(s: Session, rows: list[SlaClaim]) -> list[dict[str, Any]]:
    ids = {r.tenant_id for r in rows}
    domains = dict(s.execute(select(Tenant.id, Tenant.domain).where(Tenant.id.in_(ids))).all()) \
        if ids else {}
    return [ClaimOut(id=r.id, tenant=domains.get(r.tenant_id, ""), period=r.period,
                     claimed_at=r.claimed_at, claimed_by=r.claimed_by, status=r.status,
                     note=r.note).model_dump(mode="json") for r in rows]


def _set_terms(tenant_id: int, values: TermsBody | TermsForm) -> dict[str, Any]:
    me = current_user()
    with transaction(services().sessions) as s:
        tenant = _tenant(s, tenant_id)
        row = contract.set_terms(s, tenant, level=Level(values.level),
                                 monthly_fee=Decimal(values.monthly_fee.replace(",", ".")),
                                 support_email=values.support_email, actor=me.address,
                                 source=client_address())
        return _terms_out(tenant, row)


def _file_claim(period: str) -> dict[str, Any]:
    me = current_user()
    with transaction(services().sessions) as s:
        tenant = _tenant(s, me.tenant_id)
        row = contract.file_claim(s, tenant, period, actor=me.address, source=client_address(),
                                  now=clock(current_app))
        return _claims_out(s, [row])[0]


def _decide(claim_id: int, status: str, note: str) -> dict[str, Any]:
    me = current_user()
    with transaction(services().sessions) as s:
        row = contract.decide(s, claim_id, status, note, actor=me.address,
                              source=client_address())
        return _claims_out(s, [row])[0]


# ---- pages ----

def _page(tenant_id: int, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Any:
    with services().sessions() as s:
        tenant = _tenant(s, tenant_id)
        terms = _terms_out(tenant, s.get(SlaSettings, tenant_id))
        claims = contract.claims(s, tenant_id)
        s.expunge_all()
    return render_template("sla_contract.html", tenant=tenant, terms=values or terms,
                           errors=errors or {}, claims=claims, levels=LEVELS), status


@bp.get("/sla/contract/<int:tenant_id>")
@login_required(Role.OPERATOR)
def page(tenant_id: int) -> Any:
    return _page(tenant_id)


@bp.post("/sla/contract/<int:tenant_id>")
@login_required(Role.OPERATOR)
def page_terms(tenant_id: int) -> Any:
    try:
        form = parse_form(TermsForm)
    except Invalid as err:
        return _page(tenant_id, dict(request.form), {p.field: p.message for p in err.problems},
                     422)
    _set_terms(tenant_id, form)
    flash(gettext("SLA terms saved."))
    return redirect(url_for("sla_contract.page", tenant_id=tenant_id))


@bp.post("/sla/claims")
@login_required(Role.ADMIN)
@validated(form=ClaimForm)
def page_claim(form: ClaimForm) -> Any:
    try:
        _file_claim(form.period)
    except contract.ClaimRefused as err:
        flash(gettext("The claim was not filed: %(why)s", why=str(err)), "error")
    else:
        flash(gettext("Credit claimed for %(period)s.", period=form.period))
    return redirect(url_for("sla.page"))


@bp.post("/sla/claims/<int:claim_id>/decision")
@login_required(Role.OPERATOR)
@validated(form=DecisionForm)
def page_decide(claim_id: int, form: DecisionForm) -> Any:
    row = _decide(claim_id, form.status, form.note)
    flash(gettext("Claim granted.") if form.status == "granted" else gettext("Claim refused."))
    with services().sessions() as s:
        tenant_id = s.scalar(select(SlaClaim.tenant_id).where(SlaClaim.id == row["id"]))
    return redirect(url_for("sla_contract.page", tenant_id=tenant_id))


# ---- API ----

@bp.get("/api/v1/tenants/<int:tenant_id>/sla-terms")
@login_required(Role.OPERATOR)
@validated()
@responds(TermsOut)
def api_terms(tenant_id: int) -> Any:
    with services().sessions() as s:
        tenant = _tenant(s, tenant_id)
        return jsonify(_terms_out(tenant, s.get(SlaSettings, tenant_id)))


@bp.put("/api/v1/tenants/<int:tenant_id>/sla-terms")
@login_required(Role.OPERATOR)
@validated(body=TermsBody)
@responds(TermsOut)
def api_set_terms(tenant_id: int, body: TermsBody) -> Any:
    return jsonify(_set_terms(tenant_id, body))


@bp.get("/api/v1/sla/terms")
@login_required(Role.ADMIN)
@validated()
@responds(TermsOut)
def api_own_terms() -> Any:
    me = current_user()
    with services().sessions() as s:
        tenant = _tenant(s, me.tenant_id)
        return jsonify(_terms_out(tenant, s.get(SlaSettings, me.tenant_id)))


@bp.get("/api/v1/sla/claims")
@login_required(Role.ADMIN, Role.OPERATOR)
@validated()
@responds(ClaimList)
def api_claims() -> Any:
    me = current_user()
    scope = None if me.role is Role.OPERATOR else me.tenant_id
    with services().sessions() as s:
        return jsonify({"claims": _claims_out(s, contract.claims(s, scope))})


@bp.post("/api/v1/sla/claims")
@login_required(Role.ADMIN)
@validated(body=ClaimBody)
@responds(ClaimOut, 201)
def api_file_claim(body: ClaimBody) -> Any:
    return jsonify(_file_claim(body.period)), 201


@bp.patch("/api/v1/sla/claims/<int:claim_id>")
@login_required(Role.OPERATOR)
@validated(body=DecisionBody)
@responds(ClaimOut)
def api_decide(claim_id: int, body: DecisionBody) -> Any:
    return jsonify(_decide(claim_id, body.status, body.note))
