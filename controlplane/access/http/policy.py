"""The tenant's access policy in the panel and the API: IP allow-list, one workstation.

``/security/access`` (page) and ``GET|PUT /api/v1/ip-allow-list`` read and change the
same row (:func:`controlplane.security.access_store.save_policy`), admins only. A list
that would shut out the administrator saving it (their own address not on a non-empty
list) is refused with the field and the address, so nobody locks themselves out by a
typo. Every change is an ``access.policy_changed`` audit row with before and after.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext

from controlplane.access.http import totp
from controlplane.access.http.schemas import AccessPolicyBody, AccessPolicyForm
from controlplane.db import transaction
from controlplane.models import Role
from controlplane.security import access_store, audit, ip_allow_list
from controlplane.security.access_store import AccessPolicy
from web.auth import client_address, current_user, login_required
from web.errors import FieldProblem, InvalidForm
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, validated

bp = Blueprint("access_policy", __name__)


def _as_json(p: AccessPolicy) -> dict[str, Any]:
    return {"networks": list(p.ip_allow_list), "one_workstation": p.one_workstation,
            "your_address": client_address()}


def _current() -> AccessPolicy:
    with services().sessions() as s:
        return access_store.policy(s, current_user().tenant_id)


def _locks_me_out(networks: list[str]) -> str | None:
    if ip_allow_list.allows(ip_allow_list.parse(networks), client_address()):
        return None
    return gettext("this list does not include your own address %(address)s: saving it "
                   "would lock you out. Add it (or a network holding it) first.",
                   address=client_address())


def _save(networks: list[str], one_workstation: bool | None) -> AccessPolicy:
    me, now = current_user(), clock(current_app)
    with transaction(services().sessions) as s:
        before = access_store.policy(s, me.tenant_id)
        after = access_store.save_policy(s, me.tenant_id, ip_list=networks,
                                         one_workstation=one_workstation, now=now)
        audit.record(s, "access.policy_changed", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(),
                     detail={"before": _public(before), "after": _public(after)})
    return after


def _public(p: AccessPolicy) -> dict[str, object]:
    return {"networks": list(p.ip_allow_list), "one_workstation": p.one_workstation}


@bp.get("/security/access")
@login_required(Role.ADMIN)
def page() -> Any:
    return render_template("access_policy.html", policy=_current(), address=client_address(),
                           problems={}, typed=None,
                           totp_users=totp.users_with_totp(current_user().tenant_id))


@bp.post("/security/access")
@login_required(Role.ADMIN)
def save_form() -> Any:
    form = parse_form(AccessPolicyForm)
    try:
        networks = form.network_list()
    except ValueError as err:
        problem = str(err)
    else:
        problem = _locks_me_out(networks) or ""
    if problem:
        return render_template("access_policy.html", policy=_current(),
                               address=client_address(), problems={"networks": problem},
                               typed=form.networks,
                               totp_users=totp.users_with_totp(current_user().tenant_id)), 422
    _save(networks, form.one_workstation == "on")
    flash(gettext("Access settings saved."), "ok")
    return redirect(url_for("access_policy.page"))


@bp.get("/api/v1/ip-allow-list")
@login_required(Role.ADMIN)
@validated()
def api_get() -> Any:
    return jsonify(_as_json(_current()))


@bp.put("/api/v1/ip-allow-list")
@login_required(Role.ADMIN)
@validated(body=AccessPolicyBody)
def api_put(body: AccessPolicyBody) -> Any:
    problem = _locks_me_out(body.networks)
    if problem:
        raise InvalidForm([FieldProblem("networks", problem, "/networks")])
    return jsonify(_as_json(_save(body.networks, body.one_workstation)))


