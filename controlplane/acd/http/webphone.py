"""The agent's browser webphone: its configuration, fetched by the agent page's script.

``GET /api/v1/agents/me/webphone`` answers the logged-in user's own panel session (an API
token is refused: SIP credentials are for the browser that works, not for scripts) with
what JsSIP needs: the WebSocket URL, the SIP URI, the user name and password, and the
registration Asterisk reports (the daemon's ``centrala:contacts`` hash, from AMI
``ContactStatus``: what the page shows as the truth). The first request creates the
webphone (:mod:`controlplane.admin.webphone`) through the admin write path (render check,
audit, apply to Asterisk) when the tenant allows webphones, then asks the daemon to re-read
the agent's phones (``acd.webphone``: ``acd.reload`` is an admin's command). A user with a
desk phone gets no webphone (409 ``has_desk_phone``; the agent page does not offer one). Every issue of the
credentials is audited; they never appear in a page's HTML nor in a log line.
``GET /api/v1/agents/me/webphone/status`` is the registration alone, for polling.
``POST /api/v1/agents/me/webphone/calls/<call id>/quality`` keeps what the webphone measured
on a call that rang it (:mod:`controlplane.models.call_quality`); reporting again replaces it.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import redis
from flask import Blueprint, g, jsonify, request
from flask_babel import gettext
from sqlalchemy import select

from controlplane.acd.http.schemas import CallQualityBody, CallQualityResponse
from controlplane.admin import service as admin_service
from controlplane.admin import webphone as webphones
from controlplane.admin.http.common import write
from controlplane.bus import CONTACTS_KEY, send_webphone_created
from controlplane.db import transaction
from controlplane.desktop.wrapup import own_call
from controlplane.models import PhoneEndpoint
from controlplane.models.base import utcnow
from controlplane.models.call_quality import CallQuality
from controlplane.security import audit
from dialplan import webphone
from web.api.responses import responds
from web.auth import Forbidden, client_address, current_user, login_required
from web.errors import NotFound, PanelError
from web.services import services
from web.validation import validated

log = logging.getLogger(__name__)
bp = Blueprint("webphone", __name__)


class WebphonesOff(PanelError):
    status = 409
    error_id = "webphones_off"


class HasDeskPhone(PanelError):
    status = 409
    error_id = "has_desk_phone"


def _own_session_only() -> None:
    if g.get("centrala_bearer_user") is not None:
        raise Forbidden("webphone credentials are given to the agent's own panel session "
                        "only, not to API tokens")


def _ws_host() -> str | None:
    """The bind address (Asterisk listens there), or the panel's host name when Asterisk
    listens on every address (the browser reaches both through the same name)."""
    bind = services().settings.bind_address
    try:
        unspecified = ipaddress.ip_address(bind).is_unspecified
    except ValueError:
        unspecified = False
    return (request.host.rsplit(":", 1)[0] or None) if unspecified else None


def _registration(name: str) -> dict[str, Any]:
    try:
        raw = services().redis.hget(CONTACTS_KEY, name)
    except redis.RedisError:
        return {"registration": None, "contact_status": None}
    status = raw.decode() if isinstance(raw, bytes) else raw
    return {"registration": admin_service.registration(status), "contact_status": status}


def _config(phone: PhoneEndpoint, created: bool, applied_error: str) -> dict[str, Any]:
    settings = services().settings
    server = settings.bind_address
    return {
        "ws_url": webphone.ws_url(settings, _ws_host()),
        "sip_uri": f"sip:{phone.name}@{server}",
        "username": phone.name,
        "password": phone.secret,
        "extension": phone.extension,
        "display_name": current_user().display_name,
        "created": created,
        "applied_error": applied_error,  # "" when Asterisk took the configuration
        **_registration(phone.name),
    }


@bp.get("/api/v1/agents/me/webphone")
@login_required()
@validated()
def api_my_webphone() -> Any:
    _own_session_only()
    me, svc = current_user(), services()
    with svc.sessions() as s:
        existing = webphones.find(s, me.tenant_id, me.id)
        if existing is not None:
            s.expunge(existing)
    created, error = False, ""
    if existing is None:
        def change(s: Any) -> tuple[PhoneEndpoint, bool]:
            return webphones.ensure(s, me.tenant_id, me.id)
        try:
            (phone, created), applied = write(
                change, "webphone.created",
                lambda r: {"phone": r[0].name, "extension": r[0].extension, "user_id": me.id},
                acd=False)
        except webphones.HasDeskPhone as err:
            raise HasDeskPhone(gettext(
                "You work from the desk phone %(phone)s: calls ring there. An administrator "
                "can remove it if you want to work from the browser.", phone=err.args[0]),
                details={"desk_phone": err.args[0]}) from err
        except webphones.WebphonesOff as err:
            raise WebphonesOff(gettext(
                "Webphones are turned off for your organisation; ask an administrator "
                "for a desk phone.")) from err
        error = applied.error if applied is not None and not applied.ok else ""
        try:  # the ACD rings an agent's phones: it re-reads them now
            send_webphone_created(svc.redis, me.tenant_id, user_id=me.id)
        except redis.RedisError as err:
            log.warning("acd.webphone for user %s not sent: %s", me.id, err)
    else:
        phone = existing
    with transaction(svc.sessions) as s:  # every issue of the password, never the password
        audit.record(s, "webphone.credentials_issued", tenant_id=me.tenant_id,
                     actor=me.address, source=client_address(),
                     detail={"phone": phone.name, "created": created})
    return jsonify(_config(phone, created, error))


@bp.get("/api/v1/agents/me/webphone/status")
@login_required()
@validated()
def api_my_webphone_status() -> Any:
    me = current_user()
    with services().sessions() as s:
        phone = webphones.find(s, me.tenant_id, me.id)
        name = phone.name if phone is not None else None
    if name is None:
        return jsonify({"webphone": None, "registration": None, "contact_status": None})
    return jsonify({"webphone": name, **_registration(name)})


@bp.post("/api/v1/agents/me/webphone/calls/<string:call_id>/quality")
@login_required()
@validated(body=CallQualityBody)
@responds(CallQualityResponse)
def api_my_call_quality(call_id: str, body: CallQualityBody) -> Any:
    """What your webphone measured on call ``call_id`` (which rang it); 404 for a call
    that is not your tenant's, 403 for one on another phone."""
    _own_session_only()
    me, svc = current_user(), services()
    if len(call_id) > 128:
        raise NotFound("no such call in your tenant")
    with transaction(svc.sessions) as s:
        phone = webphones.find(s, me.tenant_id, me.id)
        if phone is None:
            raise NotFound("you have no webphone")
        own_call(s, svc.redis, me.tenant_id, [phone.name], call_id)  # 404 / 403
        row = s.scalar(select(CallQuality).where(CallQuality.call_id == call_id,
                                                 CallQuality.endpoint == phone.name))
        if row is None:
            row = CallQuality(tenant_id=me.tenant_id, call_id=call_id, endpoint=phone.name)
            s.add(row)
        row.user_id = me.id
        row.source = "webphone"
        for name, value in body.model_dump().items():
            setattr(row, name, value)
        row.created_at = utcnow()
        s.flush()
        out = row.to_json()
    return jsonify({"call_id": call_id, "quality": out})
