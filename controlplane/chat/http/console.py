"""The agent's chat console and the supervisors' watch, in the panel and ``/api/v1``.

``/agent/chats`` is the console: offers (``chat.offered`` events for this agent) with
accept/decline, the chats the agent holds as tabs, typing both ways, canned responses,
transfer and end. Its live part is one SSE connection (:mod:`.agent_stream`). Agent
actions are commands to the daemon (``bus.send_chat_command`` with the agent as actor:
the daemon's guard re-checks that the chat is offered to / held by them); an agent's
message is written here, after checking the database says the agent holds the chat
(``agent_user_id``, status ``active``), then published on the chat's stream.

Supervisors and admins list the tenant's open chats and watch one read-only
(``/agent/chats/<id>/watch``, the same stream the visitor reads).
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, render_template, stream_with_context

from controlplane.bus import ControlPlaneNotAnswering, send_chat_command
from controlplane.chat import canned, store, transcript, transport
from controlplane.chat.leaving import sessions_key
from controlplane.chat.schemas import MessageBody, StreamQuery, TransferBody, TypingBody
from controlplane.errors import CentralaError, Unavailable
from controlplane.models import Role
from web.auth import current_user, login_required, session_still_live
from web.services import services
from web.validation import validated

bp = Blueprint("chat_console", __name__)

WATCHERS = (Role.ADMIN, Role.SUPERVISOR)


class Refused(CentralaError):
    """The daemon refused the agent's action (its code and message)."""

    status = 409

    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def _command(action: str, chat_id: int, target: str | None = None) -> dict[str, Any]:
    user = current_user()
    with services().sessions() as s:
        store.in_tenant(s, user.tenant_id, chat_id)  # another tenant's chat: 404
    try:
        result = send_chat_command(services().redis, action, tenant_id=user.tenant_id,
                                   chat_id=chat_id, actor_id=user.id, target=target,
                                   timeout_s=float(current_app.config.get("CHAT_COMMAND_TIMEOUT_S", 3.0)))
    except ControlPlaneNotAnswering as err:
        raise Unavailable(str(err)) from err
    except redis.RedisError as err:
        raise Unavailable("chat unavailable (Redis is not reachable)") from err
    assert result is not None
    if not result.get("ok"):
        raise Refused(str(result.get("message") or "refused"),
                      str(result.get("code") or "chat_refused"))
    return result


@bp.get("/agent/chats")
@login_required()
def page() -> Any:
    user = current_user()
    with services().sessions() as s:
        rows = [canned.as_json(r) for r in canned.responses(s, user.tenant_id)]
    return render_template("agent_chats.html", canned=rows,
                           watcher=user.role in WATCHERS)


@bp.get("/agent/chats/<int:chat_id>/watch")
@login_required(*WATCHERS)
def watch(chat_id: int) -> Any:
    with services().sessions() as s:
        chat = store.in_tenant(s, current_user().tenant_id, chat_id)
        doc = store.chat_json(chat, store.agent_names(
            s, {chat.agent_user_id} if chat.agent_user_id else set()))
    return render_template("agent_chat_watch.html", chat=doc)


@bp.get("/agent/chats/<int:chat_id>/stream")
@login_required(*WATCHERS)
@validated(query=StreamQuery)
def watch_stream(chat_id: int, query: StreamQuery) -> Response:
    svc = services()
    with svc.sessions() as s:
        store.in_tenant(s, current_user().tenant_id, chat_id)
    events = transport.chat_stream(
        svc.redis, svc.sessions, chat_id, after=query.after, block_ms=transport.block_ms(current_app),
        max_age_s=current_app.config["SSE_MAX_AGE_S"],
        still_live=transport.LiveCheck(session_still_live, sessions_key(current_user().id)))
    resp = Response(stream_with_context(events), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- API ----

@bp.get("/api/v1/chat/chats")
@login_required()
@validated()
def api_chats() -> Any:
    """Open chats: the tenant's for supervisors and admins, one's own held chats for agents."""
    user = current_user()
    with services().sessions() as s:
        rows = (store.open_chats(s, user.tenant_id) if user.role in WATCHERS
                else store.held_chats(s, user.tenant_id, user.id))
        names = store.agent_names(s, {c.agent_user_id for c in rows if c.agent_user_id})
        return jsonify({"chats": [store.chat_json(c, names) for c in rows]})


@bp.get("/api/v1/chat/chats/<int:chat_id>")
@login_required()
@validated()
def api_chat(chat_id: int) -> Any:
    """One chat with its messages: for the agent holding (or offered) it, or a watcher."""
    user = current_user()
    with services().sessions() as s:
        chat = store.in_tenant(s, user.tenant_id, chat_id)
        if user.role not in WATCHERS and chat.agent_user_id != user.id \
                and chat.status != "offered":
            store.held_by(s, user.tenant_id, chat_id, user.id)  # raises not_your_chat
        msgs = store.messages_after(s, chat.id, 0)
        names = store.agent_names(s, {m.user_id for m in msgs if m.user_id}
                                  | ({chat.agent_user_id} if chat.agent_user_id else set()))
        return jsonify({"chat": store.chat_json(chat, names),
                        "messages": [store.message_json(m, names) for m in msgs]})


@bp.post("/api/v1/chat/chats/<int:chat_id>/messages")
@login_required()
@validated(body=MessageBody)
def api_message(chat_id: int, body: MessageBody) -> Any:
    user, svc = current_user(), services()
    now = current_app.config["CLOCK"]()

    def change(s: Any) -> dict[str, Any]:
        chat = store.held_by(s, user.tenant_id, chat_id, user.id)
        msg = store.append(s, chat, "agent", body.body, user_id=user.id, now=now)
        transcript.record(s, chat, msg)
        return store.message_json(msg, {user.id: user.display_name})

    doc = store.write(svc.sessions, change)
    transport.publish(svc.redis, chat_id, doc)
    return jsonify({"message": doc}), 201


@bp.post("/api/v1/chat/chats/<int:chat_id>/typing")
@login_required()
@validated(body=TypingBody)
def api_typing(chat_id: int, body: TypingBody) -> Any:
    user = current_user()
    with services().sessions() as s:
        store.held_by(s, user.tenant_id, chat_id, user.id)
    transport.publish(services().redis, chat_id,
                      {"kind": "typing", "author": "agent", "typing": body.typing})
    return jsonify({"ok": True})


@bp.post("/api/v1/chat/chats/<int:chat_id>/accept")
@login_required()
@validated()
def api_accept(chat_id: int) -> Any:
    return jsonify(_command("accept", chat_id))


@bp.post("/api/v1/chat/chats/<int:chat_id>/decline")
@login_required()
@validated()
def api_decline(chat_id: int) -> Any:
    return jsonify(_command("decline", chat_id))


@bp.post("/api/v1/chat/chats/<int:chat_id>/end")
@login_required()
@validated()
def api_end(chat_id: int) -> Any:
    return jsonify(_command("end", chat_id))


@bp.post("/api/v1/chat/chats/<int:chat_id>/transfer")
@login_required()
@validated(body=TransferBody)
def api_transfer(chat_id: int, body: TransferBody) -> Any:
    return jsonify(_command("transfer", chat_id, body.target))

