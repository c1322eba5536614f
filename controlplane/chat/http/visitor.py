"""The website visitor's side of chat: ``/chat/widget.js`` and the API under ``/chat/api``.

No login: a widget is named by its public key (in the URL, so a browser's CORS preflight
can be answered), a chat by its ``public_id`` (the visitor's secret: who holds it is the
visitor). Every request is checked against the widget's allowed websites: a browser
``Origin`` not on the list is refused (403, and no CORS headers, so the page cannot read
anything); an allowed one gets ``Access-Control-Allow-Origin`` for itself only. Bodies are
pydantic models (≤ 4000 characters of text); errors are JSON in the panel's one shape.
Rate limits (:func:`controlplane.chat.transport.limit`): chats started and offline
messages per address, messages and typing per chat.

``POST …/chats`` writes the chat (status ``waiting``, the widget's queue) and its first
message, commits, then tells the daemon (``chat.enqueue``); ``…/leave`` sends
``chat.leave``. Status, agent and the end are the daemon's to write (the chat contract).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from controlplane.bus import send_chat_command
from controlplane.chat import store, transcript, transport, widget_settings
from controlplane.chat.exceptions import BadIdentity, ChatClosed, OriginRefused
from controlplane.chat.schemas import (
    ConfigQuery,
    MessageBody,
    OfflineBody,
    StartBody,
    StreamQuery,
    SurveyBody,
    TypingBody,
)
from controlplane.db import transaction
from controlplane.desk.threads import Inbound, receive
from controlplane.errors import CentralaError
from controlplane.models.chat import Chat
from controlplane.models.chat_widgets import ChatWidget
from web.auth import client_address, cookieless, public
from web.errors import error_response
from web.services import services
from web.validation import validated

log = logging.getLogger(__name__)

bp = Blueprint("chat_visitor", __name__)

WIDGET_JS = Path(__file__).resolve().parents[3] / "web" / "static" / "chat_widget.js"
DEFAULT_LIMITS = {"CHAT_STARTS_PER_IP_MINUTE": 10, "CHAT_POSTS_PER_CHAT_MINUTE": 60}


def _limit(name: str) -> int:
    return int(current_app.config.get(name, DEFAULT_LIMITS[name]))


def _now() -> Any:
    return current_app.config["CLOCK"]()


# ---- CORS: the widget's allowed websites, answered per request ----

@bp.before_request
def _check_origin() -> None:
    args = request.view_args or {}
    with services().sessions() as s:
        if "key" in args:
            widget = widget_settings.by_key(s, args["key"])
        elif "public_id" in args:
            chat = store.by_public_id(s, args["public_id"])
            g.chat_found = chat.id, chat.tenant_id, chat.status  # the view's, read once
            widget = _widget_of(s, chat)
        else:
            return
        origins = list(widget.origins)
        allowed = widget_settings.origin_allowed(widget, request.headers.get("Origin"))
    if not allowed:
        raise OriginRefused("this website may not use this chat widget")
    g.chat_origins = origins


def _widget_of(s: Any, chat: Chat) -> ChatWidget:
    widget = s.get(ChatWidget, int(chat.visitor_fields.get("widget", 0)))
    if widget is None:
        raise OriginRefused("this chat's widget is gone")
    return widget


@bp.after_request
def _cors(resp: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/").lower() in g.get("chat_origins", ()):
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID"
        resp.headers["Access-Control-Max-Age"] = "600"
    resp.headers["Vary"] = "Origin"
    return resp


@bp.errorhandler(CentralaError)
def _error(err: CentralaError) -> Response:
    """Errors as JSON here too (the panel renders HTML for paths outside ``/api/``)."""
    resp = error_response(err.status, err.error_id, err.message, err.details)
    if resp.mimetype != "application/json":
        body: dict[str, Any] = {"id": err.error_id, "message": err.message}
        if err.details:
            body["details"] = err.details
        resp = jsonify({"error": body})
        resp.status_code = err.status
    if getattr(err, "retry_after", None):
        resp.headers["Retry-After"] = str(err.retry_after)  # type: ignore[attr-defined]
    return resp


# ---- the script ----

@bp.get("/chat/widget.js")
@public
def widget_js() -> Response:
    resp = Response(WIDGET_JS.read_bytes(), mimetype="text/javascript")
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return resp


# ---- the visitor's API ----

@bp.get("/chat/api/w/<key>/config")
@public
@validated(query=ConfigQuery)
def config(key: str, query: ConfigQuery) -> Any:
    with services().sessions() as s:
        widget = widget_settings.by_key(s, key)
        kind = "returning" if query.returning else "new"
        return jsonify(widget_settings.public_config(s, widget, kind, _now()))


@bp.post("/chat/api/w/<key>/chats")
@public
@cookieless
@validated(body=StartBody)
def start(key: str, body: StartBody) -> Any:
    svc = services()
    transport.limit(svc.redis, "ip", client_address(), _limit("CHAT_STARTS_PER_IP_MINUTE"),
                    time.time())

    def change(s: Any) -> tuple[int, int, str, str, Any, str]:
        widget = widget_settings.by_key(s, key)
        if not widget_settings.is_open(s, widget, _now()):
            raise ChatClosed(_("The chat is closed now; leave a message instead."))
        _required(widget, body.name, body.email, body.phone)
        kind, name, email = ("returning" if body.returning else "new"), body.name, body.email
        if body.identity is not None:
            if not widget_settings.identified(widget, body.identity.id, body.identity.hash):
                raise BadIdentity("the visitor's identity is not signed by this website",
                                  details={"field": "identity.hash"})
            kind = "identified"
            name, email = body.identity.name or name, body.identity.email or email
        chat = store.create(s, widget, name=name, email=email, phone=body.phone, kind=kind,
                            fields={"widget": widget.id, "visitor": body.visitor,
                                    **({"customer_id": body.identity.id}
                                       if body.identity else {})},
                            page=body.page, now=_now())
        first = None
        if body.message.strip():
            first = store.append(s, chat, "visitor", body.message.strip(), now=_now())
            transcript.record(s, chat, first)
        chat_id, tenant_id, public_id = chat.id, chat.tenant_id, chat.public_id
        greeting = widget.greetings.get(kind, "")
        return chat_id, tenant_id, public_id, greeting, first, kind

    chat_id, tenant_id, public_id, greeting, first, kind = store.write(svc.sessions, change)
    if first is not None:
        transport.publish(svc.redis, chat_id, store.message_json(first, {}))
    try:
        send_chat_command(svc.redis, "enqueue", tenant_id=tenant_id, chat_id=chat_id)
    except redis.RedisError as err:  # the chat is saved; the daemon's restore finds it
        log.warning("chat.enqueue of chat %s not sent: %s", chat_id, err)
    return jsonify({"chat": public_id, "kind": kind, "greeting": greeting,
                    "seq": first.seq if first is not None else 0}), 201


def _required(widget: ChatWidget, name: str, email: str, phone: str) -> None:
    fields = {**widget_settings.DEFAULT_FIELDS, **widget.form_fields}
    given = {"name": name.strip(), "email": email.strip(), "phone": phone.strip()}
    for field, mode in fields.items():
        if mode == "required" and not given[field]:
            raise CentralaError(f"field '{field}': required",
                                details={"field": field, "message": "required"})
    if given["email"] and "@" not in given["email"]:
        raise CentralaError("field 'email': must be an e-mail address",
                            details={"field": "email", "message": "must be an e-mail address"})


@bp.post("/chat/api/w/<key>/offline")
@public
@cookieless
@validated(body=OfflineBody)
def offline(key: str, body: OfflineBody) -> Any:
    """Outside opening hours: the visitor's message becomes a ticket (answered later)."""
    svc = services()
    transport.limit(svc.redis, "ip", client_address(), _limit("CHAT_STARTS_PER_IP_MINUTE"),
                    time.time())
    with transaction(svc.sessions) as s:
        widget = widget_settings.by_key(s, key)
        _required(widget, body.name, body.email, body.phone)
        sender = body.email or body.phone or body.name or "chat visitor"
        got = receive(s, Inbound(tenant_id=widget.tenant_id, channel="chat", sender=sender,
                                 sender_name=body.name, body=body.message,
                                 subject=f"Chat (offline): {body.message[:200]}",
                                 meta={"widget": widget.id, "offline": True,
                                       "phone": body.phone}, at=_now()))
    return jsonify({"ticket": got.ticket_number}), 201


def _open_chat(public_id: str, *, per_chat: bool = True) -> tuple[int, int, str]:
    """(chat id, tenant id, status) of the visitor's chat (as the origin check read it),
    counted against its limit."""
    svc = services()
    found: tuple[int, int, str] | None = g.get("chat_found")
    if found is None:
        with svc.sessions() as s:
            chat = store.by_public_id(s, public_id)
            found = chat.id, chat.tenant_id, chat.status
    if per_chat:
        transport.limit(svc.redis, "chat", str(found[0]),
                        _limit("CHAT_POSTS_PER_CHAT_MINUTE"), time.time())
    return found


@bp.post("/chat/api/chats/<public_id>/messages")
@public
@cookieless
@validated(body=MessageBody)
def message(public_id: str, body: MessageBody) -> Any:
    svc = services()
    chat_id, _tid, status = _open_chat(public_id)
    if status not in store.OPEN_STATUSES:
        raise ChatClosed("this chat has ended")
    def change(s: Any) -> dict[str, Any]:
        chat = s.get_one(Chat, chat_id)
        msg = store.append(s, chat, "visitor", body.body, now=_now())
        transcript.record(s, chat, msg)
        return store.message_json(msg, {})

    doc = store.write(svc.sessions, change)
    transport.publish(svc.redis, chat_id, doc)
    return jsonify({"seq": doc["seq"]}), 201


@bp.post("/chat/api/chats/<public_id>/typing")
@public
@cookieless
@validated(body=TypingBody)
def typing(public_id: str, body: TypingBody) -> Any:
    chat_id, _tid, _status = _open_chat(public_id)
    transport.publish(services().redis, chat_id,
                      {"kind": "typing", "author": "visitor", "typing": body.typing})
    return jsonify({"ok": True})


@bp.post("/chat/api/chats/<public_id>/leave")
@public
@cookieless
@validated()
def leave(public_id: str) -> Any:
    chat_id, tenant_id, status = _open_chat(public_id, per_chat=False)
    if status in store.OPEN_STATUSES:
        send_chat_command(services().redis, "leave", tenant_id=tenant_id, chat_id=chat_id)
    return jsonify({"ok": True})


@bp.post("/chat/api/chats/<public_id>/survey")
@public
@cookieless
@validated(body=SurveyBody)
def survey(public_id: str, body: SurveyBody) -> Any:
    with transaction(services().sessions) as s:
        chat = store.by_public_id(s, public_id)
        if chat.survey_score is not None:
            raise ChatClosed("the survey was already answered")
        chat.survey_score, chat.survey_comment = body.score, body.comment
    return jsonify({"ok": True}), 201


@bp.get("/chat/api/chats/<public_id>/stream")
@public
@validated(query=StreamQuery)
def stream(public_id: str, query: StreamQuery) -> Response:
    svc = services()
    with svc.sessions() as s:
        chat_id = store.by_public_id(s, public_id).id
    after = query.after
    last = request.headers.get("Last-Event-ID", "")
    if last.isdigit() and len(last) < 10:
        after = max(after, int(last))
    events = transport.chat_stream(svc.redis, svc.sessions, chat_id, after=after,
                                   block_ms=transport.block_ms(current_app),
                                   max_age_s=current_app.config["SSE_MAX_AGE_S"])
    resp = Response(events, mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
