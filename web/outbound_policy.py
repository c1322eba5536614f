"""The tenant's outbound (toll-fraud) policy in the panel and the API.

Admins read and change which destination classes the tenant's calls may reach and its
caps (``/outbound-policy``, ``GET/PUT /api/v1/outbound-policy``); supervisors read them.
The API's JSON first meets :class:`~web.schemas.outbound_policy.OutboundPolicyBody` (shape,
types, unknown fields: 400 ``invalid``); then :func:`parse_policy` applies the policy's rules
to it and to the page's form alike, collecting every problem with its field
(``details.errors``, status 422, as the queues' rules). The control plane reads the policy
from the database on every call, so a change applies to the next call without a reload.
Every change is an ``outbound.policy`` line in the security audit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.models import Role, Trunk
from controlplane.models.security import SecurityEvent
from controlplane.security import outbound_store as store
from controlplane.security.destinations import LABELS, DestClass, valid_region
from controlplane.security.outbound_policy import MAX_LIMIT, POLICY_CLASSES, Policy
from web.auth import current_user, login_required
from web.errors import FieldError, InvalidForm, PanelError
from web.schemas.outbound_policy import OutboundPolicyBody
from web.services import services
from web.validation import validated

bp = Blueprint("outbound_policy", __name__)

ADMIN = (Role.ADMIN,)
VIEWERS = (Role.ADMIN, Role.SUPERVISOR)
FIELDS = ("region", "allowed", "max_concurrent", "max_per_hour")
ALWAYS = DestClass.EMERGENCY.value  # may be listed; it is allowed whatever the list says
RECENT_EVENTS = 20


class Forbidden(PanelError):
    status = 403
    error_id = "forbidden"


class InvalidPolicy(InvalidForm):
    """A value breaking a policy rule: status 422 (as :class:`InvalidForm`), every problem
    in ``details.errors`` with its field."""

    error_id = "invalid_policy"


def _limit(name: str, value: Any, errors: list[FieldError]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.append(FieldError(name, f"must be a whole number from 0 to {MAX_LIMIT}"))
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.append(FieldError(name, f"must be a whole number from 0 to {MAX_LIMIT}"))
        return None
    if not 0 <= number <= MAX_LIMIT:
        errors.append(FieldError(name, f"must be from 0 to {MAX_LIMIT}, got {number}"))
        return None
    return number


def parse_policy(data: Mapping[str, Any], current: Policy) -> Policy:
    """``current`` with the fields of ``data`` applied; raises :class:`InvalidPolicy`.

    ``allowed`` is the list of allowed classes (the whole list: classes not named are
    refused); ``emergency`` may be named and is always allowed anyway.
    """
    errors: list[FieldError] = []
    for name in data:
        if name not in FIELDS:
            errors.append(FieldError(name, f"unknown field (fields: {', '.join(FIELDS)})"))
    region = current.region
    if "region" in data:
        raw = data["region"]
        region = raw.strip().upper() if isinstance(raw, str) else ""
        if not valid_region(region):
            errors.append(FieldError("region", "must be a two-letter region code such as PL, "
                                               "GB or DE"))
    allowed = current.allowed
    if "allowed" in data:
        raw = data["allowed"]
        names = {c.value for c in POLICY_CLASSES}
        if not isinstance(raw, list | tuple):
            errors.append(FieldError("allowed", f"must be a list of: {', '.join(sorted(names))}"))
        else:
            chosen: set[DestClass] = set()
            for n, item in enumerate(raw):
                if item == ALWAYS:
                    continue
                if not isinstance(item, str) or item not in names:
                    errors.append(FieldError(f"allowed[{n}]", f"{item!r} is not one of: "
                                                              f"{', '.join(sorted(names))}"))
                else:
                    chosen.add(DestClass(item))
            allowed = frozenset(chosen)
    caps = {}
    for name in ("max_concurrent", "max_per_hour"):
        caps[name] = getattr(current, name)
        if name in data:
            caps[name] = _limit(name, data[name], errors)
    if errors:
        raise InvalidPolicy(errors)
    return Policy(region=region, allowed=allowed, **caps)


def _form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The page's form (one checkbox per class) in the API's shape."""
    return {"region": form.get("region", ""),
            "allowed": [c.value for c in POLICY_CLASSES if form.get(f"allow_{c.value}")],
            "max_concurrent": form.get("max_concurrent", ""),
            "max_per_hour": form.get("max_per_hour", "")}


def _current(tenant_id: int) -> Policy:
    with services().sessions() as s:
        return store.load_policy(s, tenant_id)


def _save(data: Mapping[str, Any]) -> Policy:
    user = current_user()
    with transaction(services().sessions) as s:
        policy = parse_policy(data, store.load_policy(s, user.tenant_id))
        store.save_policy(s, user.tenant_id, policy, user.address)
    return policy


def _usage(tenant_id: int) -> dict[str, Any]:
    with services().sessions() as s:
        trunks = s.execute(select(Trunk.name, Trunk.channels)
                           .where(Trunk.tenant_id == tenant_id).order_by(Trunk.id)).all()
        return {"live": store.live_over_trunk(s, tenant_id),
                "last_hour": len(store.calls_last_hour(s, tenant_id, datetime.now(UTC))),
                "trunks": [{"name": n, "channels": c} for n, c in trunks]}


def _body(policy: Policy, tenant_id: int) -> dict[str, Any]:
    return {"policy": policy.to_json(), "always_allowed": [ALWAYS],
            "classes": [{"name": c.value, "label": LABELS[c], "allowed": c in policy.allowed}
                        for c in POLICY_CLASSES],
            "usage": _usage(tenant_id)}


# ---- page ----

@bp.route("/outbound-policy", methods=["GET", "POST"])
@login_required(*VIEWERS)
def page() -> Any:
    user = current_user()
    errors: dict[str, str] = {}
    status = 200
    form: dict[str, Any] | None = None
    if request.method == "POST":
        if user.role is not Role.ADMIN:
            raise Forbidden("only an administrator can change the outbound policy")
        form = _form_data(request.form)
        try:
            _save(form)
            flash(_("outbound policy saved: it applies from the next call"), "ok")
            return redirect(url_for("outbound_policy.page"))
        except InvalidPolicy as err:
            errors, status = err.by_field(), err.status
    policy = _current(user.tenant_id)
    with services().sessions() as s:
        events = s.scalars(select(SecurityEvent).where(
            SecurityEvent.tenant_id == user.tenant_id,
            SecurityEvent.kind.in_(("tollfraud.refused", "tollfraud.hourly_cap",
                                    "outbound.policy")))
            .order_by(SecurityEvent.id.desc()).limit(RECENT_EVENTS)).all()
    return render_template("outbound_policy.html", body=_body(policy, user.tenant_id),
                           form=form, errors=errors, events=events,
                           editable=user.role is Role.ADMIN), status


# ---- JSON API ----

@bp.get("/api/v1/outbound-policy")
@login_required(*VIEWERS)
@validated()
def api_get() -> Any:
    tid = current_user().tenant_id
    return jsonify(_body(_current(tid), tid))


@bp.put("/api/v1/outbound-policy")
@login_required(*ADMIN)
@validated(body=OutboundPolicyBody)
def api_put(body: OutboundPolicyBody) -> BaseResponse:
    """Fields not sent keep their value; ``allowed``, when sent, is the whole list."""
    policy = _save(body.given())
    return jsonify(_body(policy, current_user().tenant_id))
