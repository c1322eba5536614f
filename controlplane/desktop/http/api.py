"""The desktop's JSON API: the agent's current interaction, wrap-ups, the tenant's call
dispositions and screen-pop settings.

Who may do what: every user reads their own interaction (``/agents/me/interaction``) and
wraps up calls that were on their own phones (:mod:`controlplane.desktop.wrapup` checks);
every user reads the tenant's dispositions; admins change them and the screen pop.
Everything is for the user's tenant only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.pages import as_panel_error
from controlplane.contacts.http import common as contacts_common
from controlplane.db import transaction
from controlplane.desktop import interaction as live_card
from controlplane.desktop import screen_pop
from controlplane.desktop.exceptions import InvalidField
from controlplane.desktop.http.card import Card, settings_of
from controlplane.desktop.interaction import wrapup_json
from controlplane.desktop.schemas import (
    DispositionBody,
    DispositionList,
    InteractionResponse,
    QuickContactBody,
    QuickContactOut,
    SettingsBody,
    SettingsOut,
    WrapUpBody,
    WrapUpResponse,
)
from controlplane.desktop.wrapup import WrapUp, own_call, tenant_dispositions, wrap_up
from controlplane.models import Role
from controlplane.models.desktop import CallDisposition, CallWrapup, DesktopSettings
from controlplane.security import audit
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import NotFound, PanelError
from web.services import services
from web.validation import validated

bp = Blueprint("desktop", __name__, url_prefix="/api/v1")

CALL_ID_MAX = 128


class Unavailable(PanelError):
    status = 503
    error_id = "unavailable"


def now() -> datetime:
    clock = current_app.config["CLOCK"]
    return clock()


def _when(raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError as err:
        raise InvalidField("recontact_at", "an ISO 8601 time with a zone, e.g. "
                           "2026-03-01T10:00:00+01:00") from err


@bp.get("/agents/me/interaction")
@login_required()
@validated()
@responds(InteractionResponse)
def interaction() -> Any:
    """The agent's status and the call ringing or talking on their phone (or null)."""
    user, svc = current_user(), services()
    try:
        with svc.sessions() as s:
            card = Card.load(s, user)
            return jsonify(card.build(svc.redis, s, now()))
    except redis.RedisError as err:
        raise Unavailable("live data unavailable (Redis is not reachable)") from err


@bp.post("/agents/me/interaction/contact")
@login_required()
@validated(body=QuickContactBody)
@responds(QuickContactOut, 201)
def create_contact(body: QuickContactBody) -> Any:
    """A new miniCRM contact for the unknown caller of the call on your phone now."""
    user, svc = current_user(), services()
    try:
        with svc.sessions() as s:
            card = Card.load(s, user)
        call = live_card.own_call(svc.redis, user.tenant_id, card.endpoints)
    except redis.RedisError as err:
        raise Unavailable("live data unavailable (Redis is not reachable)") from err
    if call is None or call.call_id != body.call_id:
        raise NotFound("that call is not on your phone now")
    number = live_card.customer_number(call)
    contact_id = contacts_common.save(None, {
        "first_name": body.first_name, "last_name": body.last_name,
        "phones": [{"number": number, "main": True}]})
    name = " ".join(p for p in (body.first_name.strip(), body.last_name.strip()) if p)
    return jsonify({"contact_id": contact_id, "name": name}), 201


@bp.post("/calls/<string:call_id>/wrap-up")
@login_required()
@validated(body=WrapUpBody)
@responds(WrapUpResponse)
def wrapup(call_id: str, body: WrapUpBody) -> Any:
    """``{"disposition"?, "note"?, "recontact_at"?}`` for a call that was on your phone."""
    user, svc = current_user(), services()
    if len(call_id) > CALL_ID_MAX:
        raise NotFound(f"no call {call_id[:40]}… in your tenant")
    wanted = WrapUp(body.disposition, body.note, _when(body.recontact_at))
    try:
        with transaction(svc.sessions) as s:
            card = Card.load(s, user)
            result = wrap_up(s, svc.redis, user.tenant_id, user.id, card.endpoints, call_id,
                             wanted, now())
            audit.record(s, "call.wrap_up", tenant_id=user.tenant_id, actor=user.address,
                         source="panel", detail={"call_id": call_id,
                                                 "disposition": body.disposition})
    except CampaignError as err:
        raise as_panel_error(err) from err
    except redis.RedisError as err:
        raise Unavailable("live data unavailable (Redis is not reachable)") from err
    return jsonify(result)


@bp.get("/calls/<string:call_id>/wrap-up")
@login_required()
@validated()
@responds(WrapUpResponse)
def wrapup_get(call_id: str) -> Any:
    """The wrap-up of a call that was on your phone (404 when none was given)."""
    user, svc = current_user(), services()
    if len(call_id) > CALL_ID_MAX:
        raise NotFound(f"no call {call_id[:40]}… in your tenant")
    with svc.sessions() as s:
        card = Card.load(s, user)
        if user.role is Role.AGENT:  # supervisors read any call of their tenant
            own_call(s, svc.redis, user.tenant_id, card.endpoints, call_id[:CALL_ID_MAX])
        row = s.scalar(select(CallWrapup).where(CallWrapup.call_id == call_id,
                                                CallWrapup.tenant_id == user.tenant_id))
        if row is None:
            raise NotFound(f"no wrap-up of call {call_id[:40]} in your tenant")
        return jsonify({"call_id": call_id, "wrapup": wrapup_json(row)})


@bp.get("/call-dispositions")
@login_required()
@validated()
@responds(DispositionList)
def dispositions() -> Any:
    """The tenant's dispositions for any call (campaign calls also take their campaign's)."""
    with services().sessions() as s:
        rows = tenant_dispositions(s, current_user().tenant_id)
        return jsonify({"dispositions": [{"code": d.code, "label": d.label or d.code}
                                         for d in rows]})


def save_disposition(code: str, label: str, position: int) -> None:
    user = current_user()
    with transaction(services().sessions) as s:
        row = s.scalar(select(CallDisposition).where(CallDisposition.tenant_id == user.tenant_id,
                                                     CallDisposition.code == code))
        if row is None:
            row = CallDisposition(tenant_id=user.tenant_id, code=code)
            s.add(row)
        row.label, row.position, row.active = label, position, True
        audit.record(s, "call_disposition.saved", tenant_id=user.tenant_id,
                     actor=user.address, source="panel", detail={"code": code})


def delete_disposition(code: str) -> bool:
    """Retire a code (kept for the wrap-ups that carry it, no longer offered)."""
    user = current_user()
    with transaction(services().sessions) as s:
        row = s.scalar(select(CallDisposition).where(CallDisposition.tenant_id == user.tenant_id,
                                                     CallDisposition.code == code,
                                                     CallDisposition.active.is_(True)))
        if row is None:
            return False
        row.active = False
        audit.record(s, "call_disposition.retired", tenant_id=user.tenant_id,
                     actor=user.address, source="panel", detail={"code": code})
        return True


@bp.post("/call-dispositions")
@login_required(Role.ADMIN)
@validated(body=DispositionBody)
@responds(DispositionList, 201)
def create_disposition(body: DispositionBody) -> Any:
    """Add (or change the label of) a disposition: ``{"code", "label"?, "position"?}``."""
    save_disposition(body.code, body.label, body.position)
    with services().sessions() as s:
        rows = tenant_dispositions(s, current_user().tenant_id)
        return jsonify({"dispositions": [{"code": d.code, "label": d.label or d.code}
                                         for d in rows]}), 201


@bp.delete("/call-dispositions/<string:code>")
@login_required(Role.ADMIN)
@validated()
@responds(None, 204)
def retire_disposition(code: str) -> Any:
    if not delete_disposition(code[:64]):
        raise NotFound(f"no disposition {code[:40]!r} in your tenant")
    return "", 204


def save_settings(url: str | None, mode: str, supervision_notice: bool = False) -> DesktopSettings:
    user = current_user()
    template = screen_pop.validate(url)
    if mode not in ("tab", "iframe"):
        raise InvalidField("screen_pop_mode", "tab or iframe")
    with transaction(services().sessions) as s:
        row = settings_of(s, user.tenant_id)
        if row is None:
            row = DesktopSettings(tenant_id=user.tenant_id)
            s.add(row)
        row.screen_pop_url, row.screen_pop_mode = template, mode
        row.supervision_notice = supervision_notice
        audit.record(s, "desktop.settings", tenant_id=user.tenant_id, actor=user.address,
                     source="panel", detail={"screen_pop_url": template or "",
                                             "screen_pop_mode": mode,
                                             "supervision_notice": supervision_notice})
        s.flush()
        s.expunge(row)
        return row


@bp.get("/desktop/settings")
@login_required(Role.ADMIN)
@validated()
@responds(SettingsOut)
def settings_get() -> Any:
    with services().sessions() as s:
        row = settings_of(s, current_user().tenant_id)
        return jsonify({"screen_pop_url": row.screen_pop_url if row else None,
                        "screen_pop_mode": row.screen_pop_mode if row else "tab",
                        "supervision_notice": bool(row and row.supervision_notice)})


@bp.put("/desktop/settings")
@login_required(Role.ADMIN)
@validated(body=SettingsBody)
@responds(SettingsOut)
def settings_put(body: SettingsBody) -> Any:
    """``{"screen_pop_url": "https://crm.example/?phone={number}", "screen_pop_mode": "tab",
    "supervision_notice": false}``."""
    row = save_settings(body.screen_pop_url, body.screen_pop_mode, body.supervision_notice)
    return jsonify({"screen_pop_url": row.screen_pop_url, "screen_pop_mode": row.screen_pop_mode,
                    "supervision_notice": row.supervision_notice})
