"""The agent's chat console over server-sent events (``GET /agent/chats/stream``).

Theory of operation: one connection per console, one panel thread blocked in ``XREAD`` on
``centrala:events`` and the streams of the chats the agent holds (the set changes as the
daemon's events arrive). Events for this agent drive the console:

* ``chat.offered`` {user_id = me} → ``offer`` (the chat's visitor, to accept or decline);
* ``chat.offer_withdrawn`` {user_id = me} → ``withdrawn``;
* ``chat.assigned`` {user_id = me} → ``chat`` (the chat and all its messages; its stream
  joins the read);
* ``chat.ended`` / ``chat.requeued`` of a held chat → ``ended`` / ``gone``; it leaves the read.

Messages and typing of held chats go out as ``message`` / ``typing`` with their chat id,
through the same :class:`~controlplane.chat.transport.ChatFeed` as the visitor's stream (no
loss, no doubles within a connection). On (re)connect every held chat is sent whole; the
console keeps messages by seq, so a reconnect doubles nothing on screen. The offers pending
to the agent are sent again too, and ``ready`` lists both (``held``, ``offers``): a console
that reconnects after a network blip, or a second tab, shows what the server says now and
drops what ended meanwhile, instead of waiting for the next event.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Response, current_app, stream_with_context
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import EVENTS_STREAM
from controlplane.chat import store, transport
from controlplane.chat.leaving import sessions_key
from controlplane.chat.transport import ChatFeed, LiveCheck, sse
from controlplane.models.chat import Chat
from web.auth import current_user, login_required, session_still_live
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("chat_agent_stream", __name__)


class Console:
    """One agent's console: the chats held and their feeds."""

    def __init__(self, client: redis.Redis, sessions: sessionmaker[Session], tenant_id: int,
                 user_id: int) -> None:
        self.client, self.sessions = client, sessions
        self.tenant_id, self.user_id = tenant_id, user_id
        self.feeds: dict[int, ChatFeed] = {}
        self.start_ids: dict[str, str] = {}  # streams of chats just taken, noted before reading

    def whole(self, chat_id: int) -> str:
        """The chat and every message so far (its feed starts after them)."""
        feed = self.feeds.setdefault(chat_id, ChatFeed(self.sessions, chat_id, 0))
        feed.sent = 0
        messages = [doc for _e, doc, _id in feed.catch_up()]
        with self.sessions() as s:
            chat = s.get_one(Chat, chat_id)
            doc = store.chat_json(chat, store.agent_names(
                s, {chat.agent_user_id} if chat.agent_user_id else set()))
        return sse("chat", {"chat": doc, "messages": messages})

    def offered(self, chat_id: int, event: dict[str, Any]) -> str | None:
        with self.sessions() as s:
            chat = s.get(Chat, chat_id)
            if chat is None or chat.tenant_id != self.tenant_id:
                return None
            doc = store.chat_json(chat, {})
        return sse("offer", {"chat": doc, "timeout_s": event.get("timeout_s")})

    def on_event(self, doc: dict[str, Any]) -> list[str]:
        kind, chat_id = str(doc.get("type", "")), doc.get("chat_id")
        if not kind.startswith("chat.") or doc.get("tenant_id") != self.tenant_id \
                or not isinstance(chat_id, int):
            return []
        mine = doc.get("user_id") == self.user_id
        if kind == "chat.offered" and mine:
            offer = self.offered(chat_id, doc)
            return [offer] if offer else []
        if kind == "chat.offer_withdrawn" and mine:
            return [sse("withdrawn", {"chat_id": chat_id, "reason": doc.get("reason")})]
        if kind == "chat.assigned" and mine:
            self.start_ids.update(transport.last_ids(self.client, [transport.key(chat_id)]))
            return [self.whole(chat_id)]
        if chat_id not in self.feeds:
            return []
        if kind in ("chat.ended", "chat.requeued") or (kind == "chat.assigned" and not mine):
            feed = self.feeds.pop(chat_id)
            out = [sse("message", {**d, "chat_id": chat_id}) for _e, d, _i in feed.catch_up()]
            name = "ended" if kind == "chat.ended" else "gone"
            return [*out, sse(name, {"chat_id": chat_id, **{k: doc.get(k) for k in ("by", "status")}})]
        return [sse("message", {**d, "chat_id": chat_id})
                for _e, d, _i in self.feeds[chat_id].catch_up()]

    def on_chat_entry(self, chat_id: int, doc: dict[str, Any]) -> list[str]:
        feed = self.feeds.get(chat_id)
        if feed is None:
            return []
        return [sse(e, {**d, "chat_id": chat_id}) for e, d, _i in feed.on_chat_entry(doc)]


def console_stream(client: redis.Redis, console: Console, *, block_ms: int, max_age_s: float,
                   still_live: LiveCheck) -> Iterator[str]:
    deadline = time.monotonic() + max_age_s
    try:  # before the database: no gap
        ids = transport.last_ids(client, [EVENTS_STREAM, still_live.key])
        with console.sessions() as s:
            held = [c.id for c in store.held_chats(s, console.tenant_id, console.user_id)]
            offers = store.offered_to(s, console.tenant_id, console.user_id)
        ids.update(transport.last_ids(client, [transport.key(c) for c in held]))
        yield f"retry: {transport.RECONNECT_MS}\n\n"
        for chat_id in held:
            yield console.whole(chat_id)
        for chat_id in offers:
            yield console.offered(chat_id, {}) or ""
        yield sse("ready", {"held": held, "offers": offers})
        while time.monotonic() < deadline:
            reply = client.xread(ids, block=block_ms, count=200)
            if not still_live(force=any(str(n) == still_live.key for n, _e in reply or ())):
                return
            if not reply:
                yield ": keep-alive\n\n"
                continue
            for stream, entries in reply:  # type: ignore[union-attr]
                ids[str(stream)] = str(entries[-1][0])
                if stream == still_live.key:
                    continue  # the user's sessions ended: checked above
                for _eid, fields in entries:
                    doc = json.loads(fields["data"])
                    if stream == EVENTS_STREAM:
                        before = set(console.feeds)
                        yield from console.on_event(doc)
                        for gone in before - set(console.feeds):
                            ids.pop(transport.key(gone), None)
                        for name, last in console.start_ids.items():
                            ids.setdefault(name, last)
                        console.start_ids.clear()
                    else:
                        chat_id = int(str(stream).rsplit(":", 1)[1])
                        yield from console.on_chat_entry(chat_id, doc)
    except (redis.RedisError, SQLAlchemyError) as err:  # the console reconnects, whole
        log.warning("chat console of user %s stopped: %s", console.user_id, err)
        yield sse("unavailable", {"message": "live data unavailable"})


@bp.get("/agent/chats/stream")
@login_required()
def events() -> Response:
    svc, user = services(), current_user()
    console = Console(svc.redis, svc.sessions, user.tenant_id, user.id)
    stream = console_stream(svc.redis, console, block_ms=transport.block_ms(current_app),
                            max_age_s=current_app.config["SSE_MAX_AGE_S"],
                            still_live=LiveCheck(session_still_live, sessions_key(user.id)))
    resp = Response(stream_with_context(stream), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
