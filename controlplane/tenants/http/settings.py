"""A tenant's own settings, for its administrators: name, language and time zone.

``/tenant/settings`` (page) and ``GET/PATCH /api/v1/tenant`` (JSON). The language is the
panel's default for users who chose none; the zone is the one every time is shown in.
Licences and activity are the platform operator's (:mod:`.operator`). Audited.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import ValidationError

from controlplane.db import transaction
from controlplane.models import Role, Tenant
from controlplane.security import audit
from controlplane.tenants.schemas import LOCALES, TenantSettings, TenantSettingsForm
from web.auth import client_address, current_user, login_required
from web.services import services
from web.validation import parse_form, problems, validated

bp = Blueprint("tenant_settings", __name__)

FIELDS = ("name", "locale", "time_zone")


def _json(t: Tenant) -> dict[str, Any]:
    return {"id": t.id, "domain": t.domain, "name": t.name, "locale": t.locale,
            "time_zone": t.time_zone, "licences": t.licences}


def _save(changes: dict[str, Any]) -> dict[str, Any]:
    me = current_user()
    with transaction(services().sessions) as s:
        tenant = s.get(Tenant, me.tenant_id)
        assert tenant is not None  # the logged-in user's own
        before = {k: getattr(tenant, k) for k in changes}
        for key, value in changes.items():
            setattr(tenant, key, value)
        audit.record(s, "tenant.updated", tenant_id=tenant.id, actor=me.address,
                     source=client_address(), detail={"before": before, "after": changes})
        return _json(tenant)


def _page(problems_: dict[str, str] | None = None, status: int = 200) -> Any:
    with services().sessions() as s:
        tenant = s.get(Tenant, current_user().tenant_id)
        return render_template("tenant_settings.html", tenant=tenant, problems=problems_ or {},
                               locales=LOCALES, zones=sorted(available_timezones())), status


@bp.get("/tenant/settings")
@login_required(Role.ADMIN)
def page() -> Any:
    return _page()


@bp.post("/tenant/settings")
@login_required(Role.ADMIN)
def save() -> Any:
    form = parse_form(TenantSettingsForm)
    values = {k: v.strip() for k, v in form.model_dump().items() if v.strip()}
    try:
        changes = TenantSettings.model_validate(values).given()
    except ValidationError as err:
        return _page({p.field: p.message for p in problems(err, TenantSettings)}, 400)
    _save(changes)
    flash(_("Saved."), "ok")
    return redirect(url_for("tenant_settings.page"))


@bp.get("/api/v1/tenant")
@login_required(Role.ADMIN)
@validated()
def api_get() -> Any:
    with services().sessions() as s:
        tenant = s.get(Tenant, current_user().tenant_id)
        assert tenant is not None
        return jsonify({"tenant": _json(tenant)})


@bp.patch("/api/v1/tenant")
@login_required(Role.ADMIN)
@validated(body=TenantSettings)
def api_update(body: TenantSettings) -> Any:
    return jsonify({"tenant": _save(body.given())})
