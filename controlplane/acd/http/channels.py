"""Channels and capacity in the panel: how many chats an agent holds at once (the tenant's
number, and an agent's own), whether a call may reach an agent who holds chats, how long a
chat offer waits for the agent; how many e-mails (tickets) an agent holds at once and how
long an e-mail offer waits. The admin's page ``/admin/channels`` and
``/api/v1/acd/channels`` (plus ``/api/v1/acd/agents/<id>/capacity``).

Theory of operation
-------------------
The values live in ``acd_channel_settings`` (one row per tenant, none: the defaults) and
``acd_agent_capacity`` (:mod:`controlplane.models.acd_channels`). A change is validated
(the API by its schema, the form by the same bounds, each error naming its field),
committed with an audit line, then announced to the daemon with ``acd.reload`` so the live
ACD routes with it at once (chats already held are never taken away: a lower limit only
stops new offers). When Redis is down the change is saved and the page says the control
plane was not told.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.acd.http.queues import not_told
from controlplane.acd.http.schemas import (
    AgentCapacityBody,
    AgentCapacityOut,
    ChannelSettingsBody,
    ChannelSettingsOut,
)
from controlplane.bus import send_reload
from controlplane.db import transaction
from controlplane.models import Role, User
from controlplane.models.acd_channels import (
    DEFAULT_CHAT_OFFER_TIMEOUT_S,
    DEFAULT_CHATS,
    DEFAULT_EMAIL_OFFER_TIMEOUT_S,
    DEFAULT_EMAILS,
    MAX_CHAT_OFFER_TIMEOUT_S,
    MAX_CHATS,
    MAX_EMAIL_OFFER_TIMEOUT_S,
    MAX_EMAILS,
    AcdChannelSettings,
    AgentChatCapacity,
)
from controlplane.security import audit
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services
from web.validation import validated

log = logging.getLogger(__name__)

bp = Blueprint("acd_channels", __name__)
# (field, lowest, highest) of the form's numbers: the schema's bounds
BOUNDS = {"chats_per_agent": (0, MAX_CHATS), "chat_offer_timeout_s": (5, MAX_CHAT_OFFER_TIMEOUT_S),
          "emails_per_agent": (0, MAX_EMAILS),
          "email_offer_timeout_s": (5, MAX_EMAIL_OFFER_TIMEOUT_S)}
FIELDS = ("chats_per_agent", "voice_with_chats", "chat_offer_timeout_s", "emails_per_agent",
          "email_offer_timeout_s")


# ---- reads and writes (the page and the API share them) ----


def _settings(s: Session, tenant_id: int) -> dict[str, Any]:
    row = s.get(AcdChannelSettings, tenant_id)
    own = {c.user_id: c for c in s.scalars(
        select(AgentChatCapacity).where(AgentChatCapacity.tenant_id == tenant_id))}
    users = s.scalars(select(User).where(User.tenant_id == tenant_id, User.active.is_(True))
                      .order_by(User.login)).all()
    return {
        "chats_per_agent": row.chats_per_agent if row else DEFAULT_CHATS,
        "voice_with_chats": row.voice_with_chats if row else False,
        "chat_offer_timeout_s": row.chat_offer_timeout_s if row else DEFAULT_CHAT_OFFER_TIMEOUT_S,
        "emails_per_agent": row.emails_per_agent if row else DEFAULT_EMAILS,
        "email_offer_timeout_s": row.email_offer_timeout_s if row else DEFAULT_EMAIL_OFFER_TIMEOUT_S,
        "agents": [{"user_id": u.id, "login": u.login,
                    "chats": own[u.id].chats if u.id in own else None,
                    "emails": own[u.id].emails if u.id in own else None} for u in users],
    }


def _tell(tenant_id: int) -> bool:
    try:
        send_reload(services().redis, tenant_id, actor_id=current_user().id)
        return True
    except redis.RedisError as err:
        log.warning("acd.reload for tenant %s not sent: %s", tenant_id, err)
        return False


def save_settings(values: dict[str, Any]) -> bool:
    """Store the given fields (None: unchanged); True when the daemon was told."""
    user = current_user()
    with transaction(services().sessions) as s:
        row = s.get(AcdChannelSettings, user.tenant_id)
        if row is None:
            row = AcdChannelSettings(tenant_id=user.tenant_id, chats_per_agent=DEFAULT_CHATS,
                                     voice_with_chats=False,
                                     chat_offer_timeout_s=DEFAULT_CHAT_OFFER_TIMEOUT_S,
                                     emails_per_agent=DEFAULT_EMAILS,
                                     email_offer_timeout_s=DEFAULT_EMAIL_OFFER_TIMEOUT_S)
            s.add(row)
        for name in FIELDS:
            if values.get(name) is not None:
                setattr(row, name, values[name])
        audit.record(s, "acd.channels", tenant_id=user.tenant_id, actor=user.address,
                     source="panel", detail={name: getattr(row, name) for name in FIELDS})
    return _tell(user.tenant_id)


def save_agent(user_id: int, values: dict[str, int | None]) -> bool:
    """An agent's own limits (``chats``, ``emails``; None: the tenant's; a name left out:
    unchanged); NotFound for another tenant's user."""
    user = current_user()
    with transaction(services().sessions) as s:
        agent = s.scalar(select(User).where(User.id == user_id,
                                            User.tenant_id == user.tenant_id))
        if agent is None:
            raise NotFound(f"no user {user_id} in your tenant")
        row = s.get(AgentChatCapacity, user_id)
        if row is None:
            row = AgentChatCapacity(user_id=user_id, tenant_id=user.tenant_id)
            s.add(row)
        for name in ("chats", "emails"):
            if name in values:
                setattr(row, name, values[name])
        if row.chats is None and row.emails is None:  # both the tenant's: no row
            if row in s.new:
                s.expunge(row)
            else:
                s.delete(row)
        audit.record(s, "acd.agent_capacity", tenant_id=user.tenant_id, actor=user.address,
                     source="panel", detail={"user_id": user_id, **values})
    return _tell(user.tenant_id)


# ---- API ----


@bp.get("/api/v1/acd/channels")
@login_required(Role.ADMIN)
@validated()
@responds(ChannelSettingsOut)
def api_get() -> Any:
    with services().sessions() as s:
        return jsonify(_settings(s, current_user().tenant_id))


@bp.put("/api/v1/acd/channels")
@login_required(Role.ADMIN)
@validated(body=ChannelSettingsBody)
@responds(ChannelSettingsOut)
def api_put(body: ChannelSettingsBody) -> Any:
    """``{"chats_per_agent": 4, "voice_with_chats": false, "chat_offer_timeout_s": 20,
    "emails_per_agent": 3, "email_offer_timeout_s": 60}``; fields left out stay as they are."""
    save_settings(body.model_dump())
    with services().sessions() as s:
        return jsonify(_settings(s, current_user().tenant_id))


@bp.put("/api/v1/acd/agents/<int:user_id>/capacity")
@login_required(Role.ADMIN)
@validated(body=AgentCapacityBody)
@responds(AgentCapacityOut)
def api_agent_put(user_id: int, body: AgentCapacityBody) -> Any:
    """``{"chats": 2}``: the agent holds at most 2 chats; ``{"chats": null}``: the tenant's;
    ``{"emails": 1}`` likewise for e-mails (tickets)."""
    save_agent(user_id, {k: getattr(body, k) for k in body.model_fields_set})
    with services().sessions() as s:
        row = s.get(AgentChatCapacity, user_id)
        login = s.scalar(select(User.login).where(User.id == user_id)) or ""
        return jsonify({"user_id": user_id, "login": login,
                        "chats": row.chats if row else None,
                        "emails": row.emails if row else None})


# ---- the page ----


def _page(errors: dict[str, str], values: dict[str, Any] | None = None) -> Any:
    with services().sessions() as s:
        current = _settings(s, current_user().tenant_id)
    shown = {**current, **(values or {})}
    return render_template("acd_channels.html", values=shown, errors=errors,
                           max_chats=MAX_CHATS), 422 if errors else 200


def _number(raw: str, name: str, errors: dict[str, str]) -> int | None:
    lo, hi = BOUNDS.get(name, (0, MAX_CHATS))
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        errors[name] = _("A whole number from %(lo)d to %(hi)d.", lo=lo, hi=hi)
        return None
    return int(raw)


def _flash_saved(told: bool) -> None:
    flash(_("Saved.") if told else not_told(), "ok" if told else "error")


@bp.get("/admin/channels")
@login_required(Role.ADMIN)
def index() -> Any:
    return _page({})


@bp.post("/admin/channels")
@login_required(Role.ADMIN)
def save() -> Any:
    errors: dict[str, str] = {}
    form = request.form
    values: dict[str, Any] = {name: _number(form.get(name, ""), name, errors) for name in BOUNDS}
    values["voice_with_chats"] = form.get("voice_with_chats") == "on"
    for name in ("chats_per_agent", "chat_offer_timeout_s"):  # the e-mail ones: blank, unchanged
        if values[name] is None and name not in errors:
            errors[name] = _("Required.")
    if errors:
        shown = {k: form.get(k, "") for k in BOUNDS} | {"voice_with_chats":
                                                        values["voice_with_chats"]}
        return _page(errors, shown)
    _flash_saved(save_settings(values))
    return redirect(url_for("acd_channels.index"))


@bp.post("/admin/channels/agents/<int:user_id>")
@login_required(Role.ADMIN)
def save_agent_form(user_id: int) -> BaseResponse | Any:
    errors: dict[str, str] = {}
    values = {name: _number(request.form.get(name, ""), name, errors)
              for name in ("chats", "emails") if name in request.form}
    if errors:
        return _page({f"agent-{user_id}": next(iter(errors.values()))})
    _flash_saved(save_agent(user_id, values))
    return redirect(url_for("acd_channels.index"))
