"""Real-time chat transport: a Redis stream per chat, read by server-sent events.

Theory of operation
-------------------
A message is committed to the database first (``chat_message``, numbered by ``seq``),
then published on the chat's stream (:data:`~controlplane.bus.CHAT_STREAM_KEY`, capped
and expiring); typing indicators are published there too but never stored. The daemon's
``chat.*`` events (offered, assigned, ended…) come on ``centrala:events``.

One SSE connection (:func:`chat_stream`) is one panel thread blocked in ``XREAD`` on both
streams at once, with a timeout: no polling of the database. Its only queries are the
catch-up at connect and a gap fill:

1. *Before* reading the database it notes the newest entry id of both streams, then sends
   every message after the client's ``after`` (the ``Last-Event-ID`` header on an
   automatic reconnect, or ``?after=``), each as an SSE event whose ``id`` is its seq.
2. It reads the streams from the noted ids, so a message committed between the two steps
   is in the stream; a message whose seq the client has is skipped (no doubles).
3. A published seq more than one past the last one sent means lines the stream did not
   carry (the daemon's system lines go to the database only, a publish lost with Redis):
   they are read from the database first (no loss). A ``chat.*`` event of this chat does
   the same, since the daemon writes its system line with it.

So whatever the disconnection, the client ends with every seq exactly once, in order.
The stream ends after ``max_age_s`` (the browser reconnects with ``Last-Event-ID``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import CHAT_RATE_KEY, CHAT_STREAM_KEY, EVENTS_STREAM
from controlplane.chat import store
from controlplane.chat.exceptions import TooManyRequests
from controlplane.models.chat import Chat, ChatMessage

log = logging.getLogger(__name__)

STREAM_MAXLEN = 1000
STREAM_TTL_S = 24 * 3600
RECONNECT_MS = 1500
RECHECK_S = 3.0  # a busy logged-in stream re-checks its session this often
# How long a chat stream blocks in XREAD when nothing comes (then a keep-alive): every open
# stream wakes this often, so at 500 visitors and 100 consoles the panel's 10 s default
# meant 60 wakes a second of nothing. Under the Redis client's 30 s socket timeout.
CHAT_BLOCK_MS = 25_000


def key(chat_id: int) -> str:
    return CHAT_STREAM_KEY.format(chat_id=chat_id)


def publish(client: redis.Redis, chat_id: int, doc: dict[str, Any]) -> None:
    """Put ``doc`` on the chat's stream (a lost publish is healed by the seq gap fill)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(key(chat_id), {"data": json.dumps(doc)}, maxlen=STREAM_MAXLEN,
                  approximate=True)
        pipe.expire(key(chat_id), STREAM_TTL_S)
        pipe.execute()
    except redis.RedisError as err:
        log.warning("chat %s: not published (%s); readers fill the gap", chat_id, err)


def publish_message(client: redis.Redis, chat_id: int, msg: ChatMessage, name: str = "") -> None:
    publish(client, chat_id, store.message_json(msg, {msg.user_id: name} if msg.user_id else {}))


def limit(client: redis.Redis, scope: str, who: str, per_minute: int, now: float) -> None:
    """Count one request of ``who`` in this minute; :class:`TooManyRequests` past
    ``per_minute``. Redis down: let it through (the chat matters more than the count)."""
    window = int(now // 60)
    name = CHAT_RATE_KEY.format(scope=scope, who=who, window=window)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, 120)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        return
    if count > per_minute:
        raise TooManyRequests("too many requests; wait a moment and try again",
                              retry_after=60 - int(now % 60))


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


def _last_id(client: redis.Redis, stream: str) -> str:
    last = client.xrevrange(stream, count=1)
    return str(last[0][0]) if last else "0-0"


Out = tuple[str, dict[str, Any], int | None]  # SSE event name, data, id


class LiveCheck:
    """A long stream's re-check of its login (``check``: the session is still live, read
    from the database), made when the stream wakes and the last one is ``every_s`` old, not
    on every read: under load a console wakes for every message of every chat it holds, and
    two queries per message were a good part of the panel's time. ``key`` is the user's own
    stream (:func:`controlplane.chat.leaving.poke`): an entry there (a logout, an admin
    ending the sessions) forces the check at once, so such a stream ends within moments;
    a session that merely expires is found at the next wake (at most the block time)."""

    def __init__(self, check: Callable[[], bool], key: str, every_s: float = RECHECK_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.check, self.key, self.every_s, self.clock = check, key, every_s, clock
        self.checked = clock()  # the view's own login check has just been made

    def __call__(self, force: bool = False) -> bool:
        now = self.clock()
        if not force and now - self.checked < self.every_s:
            return True
        self.checked = now
        return self.check()


class ChatFeed:
    """What one chat sends down an SSE connection, with the seq bookkeeping of the module
    docstring, as ``(event, data, id)`` triples. ``names`` caches agents' names."""

    def __init__(self, sessions: sessionmaker[Session], chat_id: int, after: int) -> None:
        self.sessions = sessions
        self.chat_id = chat_id
        self.sent = after
        self.names: dict[int, str] = {}

    def catch_up(self, before: int | None = None) -> list[Out]:
        with self.sessions() as s:
            rows = store.messages_after(s, self.chat_id, self.sent, before)
            missing = {m.user_id for m in rows if m.user_id and m.user_id not in self.names}
            self.names.update(store.agent_names(s, missing))
        out: list[Out] = [("message", store.message_json(m, self.names), m.seq) for m in rows]
        if rows:
            self.sent = rows[-1].seq
        return out

    def state(self) -> dict[str, Any]:
        with self.sessions() as s:
            chat = s.get_one(Chat, self.chat_id)
            names = store.agent_names(s, {chat.agent_user_id} if chat.agent_user_id else set())
            return {"status": chat.status, "agent": names.get(chat.agent_user_id or 0, ""),
                    "survey_done": chat.survey_score is not None}

    def on_chat_entry(self, doc: dict[str, Any]) -> list[Out]:
        if doc.get("kind") == "typing":
            return [("typing", doc, None)]
        if doc.get("kind") != "message":
            return []
        seq = int(doc["seq"])
        if seq <= self.sent:
            return []  # already sent (the catch-up read it)
        out = self.catch_up(before=seq) if seq > self.sent + 1 else []
        self.sent = seq
        return [*out, ("message", doc, seq)]


def block_ms(app: Any) -> int:
    """The chat streams' XREAD block: ``CHAT_SSE_BLOCK_MS`` when set, else 2.5 times the
    panel's ``SSE_BLOCK_MS`` (10 s: :data:`CHAT_BLOCK_MS`; tests shorten it), at most that."""
    given = app.config.get("CHAT_SSE_BLOCK_MS")
    if given is not None:
        return int(given)
    return min(CHAT_BLOCK_MS, int(float(app.config.get("SSE_BLOCK_MS", 10_000)) * 2.5))


def last_ids(client: redis.Redis, streams: list[str]) -> dict[str, str]:
    """The newest entry id of each stream (read before the database: see the docstring)."""
    return {name: _last_id(client, name) for name in streams}


def chat_stream(client: redis.Redis, sessions: sessionmaker[Session], chat_id: int, *,
                after: int, block_ms: int, max_age_s: float,
                still_live: LiveCheck | None = None) -> Iterator[str]:
    """The SSE text of one chat for a visitor or a watching supervisor: ``message``
    (id = seq), ``typing``, ``state`` and ``chat`` (the daemon's ``chat.*`` events).
    A supervisor's stream passes its login's ``still_live``; a visitor's has none."""
    deadline = time.monotonic() + max_age_s
    feed = ChatFeed(sessions, chat_id, after)
    try:
        ids = last_ids(client, [key(chat_id), EVENTS_STREAM,
                                *([still_live.key] if still_live is not None else [])])
        yield f"retry: {RECONNECT_MS}\n\n"
        yield from (sse(*o) for o in feed.catch_up())
        yield sse("state", feed.state())
        while time.monotonic() < deadline:
            reply = client.xread(ids, block=block_ms, count=200)
            if still_live is not None and not still_live(
                    force=any(str(name) == still_live.key for name, _e in reply or ())):
                return
            if not reply:
                yield ": keep-alive\n\n"
                continue
            for stream, entries in reply:  # type: ignore[union-attr]
                ids[str(stream)] = str(entries[-1][0])
                if stream != key(chat_id) and stream != EVENTS_STREAM:
                    continue  # the user's own stream: its check is made above
                for _eid, fields in entries:
                    doc = json.loads(fields["data"])
                    if stream == EVENTS_STREAM:
                        if (str(doc.get("type", "")).startswith("chat.")
                                and doc.get("chat_id") == chat_id):
                            yield from (sse(*o) for o in feed.catch_up())
                            yield sse("chat", doc)
                            yield sse("state", feed.state())
                    else:
                        yield from (sse(*o) for o in feed.on_chat_entry(doc))
    except (redis.RedisError, SQLAlchemyError) as err:
        # Redis or the database not answering (a full pool under load): end the stream; the
        # client reconnects after ``retry`` and resumes by seq.
        log.warning("chat %s stream stopped: %s", chat_id, err)
        yield sse("unavailable", {"message": "live data unavailable"})
