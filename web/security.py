"""SIP brute-force bans in the panel (admins) and the JSON API (``/api/v1/sip-bans``).

Bans are platform-wide (a source address attacking the SIP port attacks every tenant), so
an administrator of any tenant sees them all, but only what belongs to nobody: the
address, counts, times and how a ban ended. The account names a source tried are phones
of some tenant and stay out (they are in the table for the operator's CLI); a lift by
someone of another tenant shows as ``panel``, not as their login.

A lift is stored at once (``sip_ban.lifted_at`` and a ``sip.unban`` security event); the
control plane reads the table every couple of seconds and applies it to Asterisk's ACL
(:mod:`controlplane.security.ban_service`): the panel never writes Asterisk's files.
The address to lift, from the page's form or the API's path, is read through
:class:`~web.schemas.sip_bans.LiftBan` (400 ``bad_parameter`` naming ``address``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.models import Role
from controlplane.models.sip_bans import SipBan
from controlplane.security import ban_store
from web.auth import current_user, login_required
from web.errors import NotFound
from web.schemas.sip_bans import LiftBan
from web.services import services
from web.validation import parse, parse_form, validated

bp = Blueprint("security", __name__)

ADMIN = (Role.ADMIN,)
RECENT = 50
APPLY_NOTE = "the platform applies it within a few seconds"


def _lifted_by(value: str) -> str | None:
    """How a ban ended, without naming people of other tenants."""
    if not value:
        return None
    kind, _sep, who = value.partition(":")
    if who and who.endswith("@" + current_user().tenant_domain):
        return value
    return kind


def ban_json(row: SipBan, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "address": row.address, "failures": row.failures,
            "offence": row.offence, "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
            "lifted_at": row.lifted_at.isoformat() if row.lifted_at else None,
            "lifted_by": _lifted_by(row.lifted_by),
            "active": row.lifted_at is None and row.expires_at > now}


def _listing() -> dict[str, list[dict[str, Any]]]:
    now = datetime.now(UTC)
    with services().sessions() as s:
        active = [ban_json(r, now) for r in ban_store.active(s, now)]
        recent = [ban_json(r, now) for r in ban_store.recent(s, RECENT)]
    return {"active": active, "recent": [b for b in recent if not b["active"]]}


def _lift(form: LiftBan) -> str:
    address = form.address
    user = current_user()
    with transaction(services().sessions) as s:
        lifted = ban_store.lift(s, address, f"panel:{user.address}", datetime.now(UTC))
    if not lifted:
        raise NotFound(f"{address} is not banned")
    return address


@bp.get("/security/sip-bans")
@login_required(*ADMIN)
def page() -> Any:
    return render_template("sip_bans.html", **_listing())


@bp.post("/security/sip-bans/lift")
@login_required(*ADMIN)
def lift_form() -> BaseResponse:
    address = _lift(parse_form(LiftBan))
    flash(_("ban of %(address)s lifted; the platform applies it within a few seconds",
            address=address), "ok")
    return redirect(url_for("security.page"))


@bp.get("/api/v1/sip-bans")
@login_required(*ADMIN)
@validated()
def api_list() -> Any:
    return jsonify(_listing())


@bp.delete("/api/v1/sip-bans/<address>")
@login_required(*ADMIN)
@validated()
def api_lift(address: str) -> Any:
    lifted = _lift(parse(LiftBan, {"address": address}, parameters=True))
    return jsonify({"lifted": lifted, "note": APPLY_NOTE})
