"""The bus between Centrala's processes: every Redis key, stream and command name, once.

The daemon, the panel, the RQ workers and the operators' tools meet only in Redis (and the
database). What they say to each other is defined here and nowhere else; every other module
imports the names from this one. This module imports no Redis client (the sync panel and the
asyncio daemon pass their own), so the panel, the pure modules and the daemon can all use it.

Keys and streams
----------------
=================================  ======  ==============================  ====================
name                               kind    written by                      read by
=================================  ======  ==============================  ====================
``centrala:commands``              stream  panel (``XADD`` only)           daemon
``centrala:admin:commands``        stream  operators, tests (admin user)   daemon
``centrala:reply:<uuid>``          list    daemon (one reply, 30 s)        the sender
``centrala:events``                stream  daemon                          panel (SSE), tools
``centrala:alerts``                stream  daemon (security alerts)        panel, operators
``centrala:calls:live``            hash    daemon: call id → LiveCall      panel
``centrala:controlplane:heartbeat``string  daemon, every 2 s (TTL 6 s)     panel, health
``centrala:acd:{tenant}:{part}``   mixed   daemon's ACD (agents, waiting,  panel
                                           stats)
``centrala:acd:mirrored``          string  daemon's ACD (first mirror)     daemon's ACD
``centrala:contacts``              hash    daemon (AMI contact status)     daemon
``centrala:dialer:progress``       hash    daemon (campaign calls)         daemon (restart)
``centrala:selftest:answered``     string  daemon (selftest calls)         benches
``centrala:tollfraud:…``           string  daemon (one alert an hour)      daemon
``centrala:outbox:queued:<job>``   string  whoever queues a job            outbox drain
``centrala:web:login-failures:…``  zset    panel                           panel
``centrala:web:api-requests:…``    string  panel (INCR per API request)    panel (quota, 429)
``centrala:web:desk-presence:…``   zset+   panel (ticket page, every 5 s)  panel (collisions)
``centrala:web:sms-inbound:…``     string  panel (INCR per gateway post)   panel (429)
``centrala:web:chat:<chat id>``    stream  panel (a chat's messages and    panel (the chat's SSE)
                                           typing; never the daemon)
``centrala:web:chat-rate:…``       string  panel (INCR per visitor call)   panel (rate limit, 429)
``centrala:web:user-sessions:<id>`` stream  panel (sessions ended)          panel (chat streams)
=================================  ======  ==============================  ====================

Commands
--------
A command is one entry on a command stream, field ``data`` holding a JSON object with
``cmd`` (a name of :data:`COMMANDS`), the acting panel user ``actor_id`` and the tenant
``tenant_id`` (panel stream), the fields of its :class:`Command` spec and, when the sender
waits, ``reply`` (a ``centrala:reply:`` key) and ``deadline`` (epoch seconds, when the
sender gives up: a command that arrives later is not carried out). :data:`COMMANDS` is the
command table: the daemon binds one handler to every name (:func:`bind`, checked complete
at start), and the daemon's guard (``security.command_rules``) reads the fields from it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# ---- streams ----
COMMANDS_STREAM = "centrala:commands"  # the panel's; nothing on it is believed
PANEL_STREAM = COMMANDS_STREAM
ADMIN_STREAM = "centrala:admin:commands"  # writable by the Redis admin user only
COMMANDS_MAXLEN = 10_000
REPLY_PREFIX = "centrala:reply:"
REPLY_TTL_S = 30
EVENTS_STREAM = "centrala:events"
EVENTS_MAXLEN = 10_000
ALERTS_STREAM = "centrala:alerts"

# ---- keys ----
LIVE_CALLS_KEY = "centrala:calls:live"
HEARTBEAT_KEY = "centrala:controlplane:heartbeat"
HEARTBEAT_TTL_S = 6
ACD_KEY = "centrala:acd:{tenant}:{part}"  # part: agents | waiting | stats
ACD_MIRRORED_KEY = "centrala:acd:mirrored"
CONTACTS_KEY = "centrala:contacts"
DIALER_PROGRESS_KEY = "centrala:dialer:progress"
SELFTEST_ANSWERED_KEY = "centrala:selftest:answered"
# string: where a live IVR call is in its flow (ivr_flows.snapshot JSON; calls/ivr_resume.py)
IVR_POSITION_KEY = "centrala:ivr:position:{call_id}"
TOLLFRAUD_ALERT_PREFIX = "centrala:tollfraud:hourly-alert:"  # + tenant id
OUTBOX_QUEUED_PREFIX = "centrala:outbox:queued:"  # + job id
LOGIN_FAILURES_PREFIX = "centrala:web:login-failures:"
# counter: API requests of one user in one month (controlplane/api_access/quota.py)
API_REQUESTS_KEY = "centrala:web:api-requests:{tenant}:{user}:{month}"  # month: YYYYMM
# zset (user id → until) and hash (user id → name, state): who is on a ticket (desk.presence)
DESK_PRESENCE_KEY = "centrala:web:desk-presence:{tenant}:{ticket}"
# counter: SMS gateway posts from one address in one minute (desk/sms/http/inbound.py)
SMS_INBOUND_KEY = "centrala:web:sms-inbound:{address}:{minute}"
# A chat's live messages and typing (controlplane.chat.transport). Under centrala:web: because
# only the panel writes it (its Redis user may write nothing else); the daemon never reads it.
CHAT_STREAM_KEY = "centrala:web:chat:{chat_id}"
CHAT_RATE_KEY = "centrala:web:chat-rate:{scope}:{who}:{window}"  # scope: ip | chat
# stream: a user's panel sessions ended (chat.leaving): their chat console ends at once
USER_SESSIONS_KEY = "centrala:web:user-sessions:{user_id}"


def acd_key(tenant: int, part: str) -> str:
    """The ACD's live-state key of ``tenant`` (``part``: agents, waiting or stats)."""
    return ACD_KEY.format(tenant=tenant, part=part)


# ---- the command table ----
AGENT_ACTIONS = ("login", "logout", "ready", "break", "cancel_break", "approve", "deny", "force")
PREVIEW_ACTIONS = ("batch", "dial", "skip")
# chats (controlplane.chat): the visitor's (no panel user: the chat itself is checked) and
# the agent's. The daemon's handlers: controlplane.chat.service; the guard's rules:
# controlplane.security.command_rules.
CHAT_VISITOR_ACTIONS = ("enqueue", "leave")  # a chat was created / its visitor left
CHAT_AGENT_ACTIONS = ("accept", "decline", "end", "transfer")  # transfer: target agent:|queue:
# tickets routed by the ACD (controlplane.desk.acd): "sync" (re-read the ticket: it was
# created or changed; no user needed) and the agent's offer answers and release
TICKET_AGENT_ACTIONS = ("accept", "decline", "release")


@dataclass(frozen=True)
class Command:
    """One line of the command table.

    ``fields``: what the entry must carry besides ``cmd``, ``actor_id`` and ``tenant_id``
    (an ``*_id`` field names an object that must be the tenant's). ``reply``: the sender
    waits on its reply key. ``admin_only``: why it is never accepted from the panel stream
    (empty: it is)."""

    name: str
    fields: Mapping[str, type] = field(default_factory=dict)
    reply: bool = False
    admin_only: str = ""


_PREVIEW = {"user_id": int, "campaign_id": int}
COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("acd.reload"),  # re-read a tenant's queues, agents and break reasons
    # an agent's webphone was just created for them: re-read the tenant's agents' phones
    Command("acd.webphone", {"user_id": int}),
    Command("acd.agent", {"user_id": int, "command": str}, reply=True),  # AGENT_ACTIONS
    Command("calls.record", {"call_id": str}),  # on-demand recording of a call
    # a blind transfer of a talking call to a queue of the tenant, to an agent (through the
    # call's queue, offered to them first) or to a number over the tenant's trunk
    Command("calls.transfer", {"call_id": str, "queue_id": int}, reply=True),
    Command("calls.transfer_agent", {"call_id": str, "user_id": int}, reply=True),
    Command("calls.transfer_number", {"call_id": str, "number": str}, reply=True),
    # an attended transfer: consult a colleague or a number while the caller holds, then
    # action complete (hand the caller over) | cancel (back with the caller)
    Command("calls.consult_agent", {"call_id": str, "user_id": int}, reply=True),
    Command("calls.consult_number", {"call_id": str, "number": str}, reply=True),
    Command("calls.consult_end", {"call_id": str, "action": str}, reply=True),
    # listen/whisper/barge: action start|mode|stop, target agent:<id>|call:<id>|session:<id>,
    # "mode" besides (controlplane.supervision; the daemon checks the target is the tenant's)
    Command("supervision", {"action": str, "target": str}, reply=True),
    Command("dialer.preview_batch", _PREVIEW, reply=True),
    Command("dialer.preview_dial", {**_PREVIEW, "record_id": int}, reply=True),
    Command("dialer.preview_skip", {**_PREVIEW, "record_id": int}, reply=True),
    Command("dialer.place", admin_only="calls are placed only by the daemon's own campaign "
                                       "runner"),
    # chats (controlplane.chat.service): the visitor's, without a panel user (actor_id None)
    Command("chat.enqueue", {"chat_id": int}),
    Command("chat.leave", {"chat_id": int}),
    # the agent's (transfer also by admin/supervisor); target agent:<user id>|queue:<id>
    Command("chat.accept", {"chat_id": int}, reply=True),
    Command("chat.decline", {"chat_id": int}, reply=True),
    Command("chat.end", {"chat_id": int}, reply=True),
    Command("chat.transfer", {"chat_id": int, "target": str}, reply=True),
    Command("ticket.sync", {"ticket_id": int}),
    *(Command(f"ticket.{a}", {"ticket_id": int}, reply=True) for a in TICKET_AGENT_ACTIONS),
)}
TICKET_COMMANDS = ("ticket.sync", *(f"ticket.{a}" for a in TICKET_AGENT_ACTIONS))
CHAT_COMMANDS = tuple(f"chat.{a}" for a in (*CHAT_VISITOR_ACTIONS, *CHAT_AGENT_ACTIONS))
PREVIEW_COMMANDS = tuple(f"dialer.preview_{a}" for a in PREVIEW_ACTIONS)


@dataclass(frozen=True)
class Received:
    """A command the daemon read and its guard let through: ``admin`` (from the admin
    stream) and ``actor``, the verified acting user's address (``admin`` there)."""

    command: dict[str, Any]
    admin: bool
    actor: str

    @property
    def name(self) -> str:
        return str(self.command.get("cmd"))


Handler = Callable[[Received], Awaitable[None]]


class CommandTable:
    """Command name → handler, for every name of :data:`COMMANDS` (see :func:`bind`)."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        missing = sorted(set(COMMANDS) - set(handlers))
        unknown = sorted(set(handlers) - set(COMMANDS))
        if missing or unknown:
            raise ValueError(f"command table: no handler for {missing}, handlers of unknown "
                             f"commands {unknown}")
        self._handlers = dict(handlers)

    def handler(self, received: Received) -> Handler | None:
        """The handler of ``received``; None for an unknown command, or for an admin-only
        one that came on the panel stream (the guard refuses both first)."""
        spec = COMMANDS.get(received.name)
        if spec is None or (spec.admin_only and not received.admin):
            return None
        return self._handlers[spec.name]


def bind(handlers: Mapping[str, Handler]) -> CommandTable:
    """The daemon's command table; raises ``ValueError`` unless every command has exactly
    one handler, so a command added here and forgotten there fails at start."""
    return CommandTable(handlers)


# ---- live state: the values the daemon writes and the panel reads ----

@dataclass(frozen=True)
class LiveCall:
    """A call in progress: the JSON value of one field of ``centrala:calls:live``."""

    call_id: str
    tenant_id: int | None
    direction: str
    state: str
    caller: str
    callee: str
    did: str | None
    agent_endpoint: str | None
    started_at: str
    answered_at: str | None = None
    consult: dict[str, Any] | None = None  # the agent consults: {"target", "answered"}

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(raw: str | bytes) -> LiveCall:
        return LiveCall(**json.loads(raw))


def event_fields(event_type: str, **payload: Any) -> dict[str, str]:
    """The fields of one ``centrala:events`` entry: ``data`` = ``{"type": …, …}`` JSON."""
    return {"data": json.dumps({"type": event_type, **payload}, default=str)}


# ---- the senders' side (synchronous redis-py: the panel, tests, operators) ----

class CommandError(Exception):
    """Base error of the panel → daemon command path (machinery, not a user error: the
    panel turns it into its own)."""


class ControlPlaneNotAnswering(CommandError):
    """Nobody answered the command in time: the control plane daemon is down or stuck."""


class BadCommand(CommandError):
    """A command entry that cannot be carried out (what is wrong is in the message)."""


class StreamClient(Protocol):
    """What the senders use of a synchronous ``redis.Redis``."""

    def xadd(self, *args: Any, **kwargs: Any) -> Any: ...

    def blpop(self, *args: Any, **kwargs: Any) -> Any: ...


def send(client: StreamClient, command: Mapping[str, Any], stream: str = PANEL_STREAM) -> str:
    """Append ``command`` to ``stream`` without waiting; the entry id."""
    entry = client.xadd(stream, {"data": json.dumps(dict(command))}, maxlen=COMMANDS_MAXLEN,
                        approximate=True)
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def request(client: StreamClient, command: Mapping[str, Any], timeout_s: float,
            what: str) -> dict[str, Any]:
    """Send ``command`` with a fresh reply key and a deadline and wait for the daemon's
    reply. Raises :class:`ControlPlaneNotAnswering` (naming ``what``) after ``timeout_s``
    without one; lets ``redis.RedisError`` through when Redis itself is unreachable."""
    reply = f"{REPLY_PREFIX}{uuid.uuid4()}"
    send(client, {**command, "reply": reply, "deadline": time.time() + timeout_s})
    got = client.blpop([reply], timeout=timeout_s)
    if got is None:
        raise ControlPlaneNotAnswering(
            f"control plane not answering: no reply to {what} within {timeout_s:g} s "
            "(is the control plane daemon running?)")
    result: dict[str, Any] = json.loads(got[1])
    return result


def send_agent_command(client: StreamClient, tenant_id: int, user_id: int, command: str,
                       reason: str | None = None, by: str | None = None,
                       timeout_s: float = 3, *, actor_id: int) -> dict[str, Any]:
    """Ask the daemon to run agent ``command`` (:data:`AGENT_ACTIONS`) for agent
    ``user_id`` on behalf of panel user ``actor_id`` (the agent, or a supervisor); its
    result ``{"ok", "status", "reason", "code", "message"}``. :class:`BadCommand` for an
    unknown command (nothing is sent)."""
    if command not in AGENT_ACTIONS:
        raise BadCommand(f"unknown agent command {command!r}; one of {', '.join(AGENT_ACTIONS)}")
    return request(client, {"cmd": "acd.agent", "tenant_id": tenant_id, "actor_id": actor_id,
                            "user_id": user_id, "command": command, "reason": reason,
                            "by": by}, timeout_s, f"agent command {command!r}")


def send_reload(client: StreamClient, tenant_id: int, *, actor_id: int) -> None:
    """The daemon re-reads the tenant's ACD configuration (no reply), for admin ``actor_id``."""
    send(client, {"cmd": "acd.reload", "tenant_id": tenant_id, "actor_id": actor_id})


def send_webphone_created(client: StreamClient, tenant_id: int, *, user_id: int) -> None:
    """User ``user_id`` has a new webphone: the ACD re-reads the tenant's agents (no reply)."""
    send(client, {"cmd": "acd.webphone", "tenant_id": tenant_id, "actor_id": user_id,
                  "user_id": user_id})


def send_preview_command(client: StreamClient, command: str, *, tenant_id: int, user_id: int,
                         campaign_id: int, record_id: int | None = None,
                         timeout_s: float = 3.0) -> dict[str, Any]:
    """Send ``dialer.preview_<command>`` (batch | dial | skip) for agent ``user_id``, who
    acts for themselves, and wait for the daemon's reply (``{"ok": true, …}`` or
    ``{"ok": false, "code", "message"}``)."""
    if command not in PREVIEW_ACTIONS:
        raise ValueError(f"unknown preview command {command!r} (batch, dial or skip)")
    name = f"dialer.preview_{command}"
    body: dict[str, Any] = {"cmd": name, "tenant_id": tenant_id, "actor_id": user_id,
                            "user_id": user_id, "campaign_id": campaign_id}
    if record_id is not None:
        body["record_id"] = record_id
    return request(client, body, timeout_s, name)


def send_supervision(client: StreamClient, tenant_id: int, actor_id: int, action: str,
                     target: str, mode: str | None = None,
                     timeout_s: float = 5.0) -> dict[str, Any]:
    """Ask the daemon to start, switch or stop supervision (``controlplane.supervision``) on
    behalf of supervisor ``actor_id``; its reply ``{"ok", "session_id", …}`` or
    ``{"ok": false, "code", "message"}``."""
    return request(client, {"cmd": "supervision", "tenant_id": tenant_id, "actor_id": actor_id,
                            "action": action, "target": target, "mode": mode},
                   timeout_s, f"supervision {action}")


def send_chat_command(client: StreamClient, action: str, *, tenant_id: int, chat_id: int,
                      actor_id: int | None = None, target: str | None = None,
                      timeout_s: float = 3.0) -> dict[str, Any] | None:
    """Send ``chat.<action>`` for chat ``chat_id``. A visitor's action
    (:data:`CHAT_VISITOR_ACTIONS`; ``actor_id`` None) is sent without waiting and returns
    None; an agent's (:data:`CHAT_AGENT_ACTIONS`, acting for themselves as ``actor_id``)
    waits for the daemon's reply ``{"ok": true, …}`` or ``{"ok": false, "code", "message"}``.
    """
    name = f"chat.{action}"
    if action in CHAT_VISITOR_ACTIONS:
        send(client, {"cmd": name, "tenant_id": tenant_id, "actor_id": None,
                      "chat_id": chat_id})
        return None
    if action not in CHAT_AGENT_ACTIONS or actor_id is None:
        raise BadCommand(f"unknown chat command {action!r} (an agent's needs actor_id)")
    return request(client, {"cmd": name, "tenant_id": tenant_id, "actor_id": actor_id,
                            "chat_id": chat_id, "target": target}, timeout_s, name)


def send_ticket_sync(client: StreamClient, tenant_id: int, ticket_id: int) -> None:
    """Tell the daemon ticket ``ticket_id`` was created or changed (after the commit): its
    ACD re-reads it and routes it, or takes it out of routing (no reply)."""
    send(client, {"cmd": "ticket.sync", "tenant_id": tenant_id, "actor_id": None,
                  "ticket_id": ticket_id})


def send_ticket_command(client: StreamClient, action: str, *, tenant_id: int, ticket_id: int,
                        actor_id: int, timeout_s: float = 3.0) -> dict[str, Any]:
    """Agent ``actor_id`` accepts, declines or releases (:data:`TICKET_AGENT_ACTIONS`)
    ticket ``ticket_id``; the daemon's reply ``{"ok", "code", "message"}``."""
    if action not in TICKET_AGENT_ACTIONS:
        raise BadCommand(f"unknown ticket command {action!r}")
    name = f"ticket.{action}"
    return request(client, {"cmd": name, "tenant_id": tenant_id, "actor_id": actor_id,
                            "ticket_id": ticket_id}, timeout_s, name)


# transfers: command → (kind, its target's field); consult_end's action: complete|cancel
TRANSFER_COMMANDS = {"calls.transfer": ("queue", "queue_id"),
                     "calls.transfer_agent": ("agent", "user_id"),
                     "calls.transfer_number": ("number", "number"),
                     "calls.consult_agent": ("consult_agent", "user_id"),
                     "calls.consult_number": ("consult_number", "number"),
                     "calls.consult_end": ("consult_end", "action")}


def send_transfer(client: StreamClient, tenant_id: int, actor_id: int, call_id: str,
                  kind: str, value: int | str, timeout_s: float = 5.0) -> dict[str, Any]:
    """For panel user ``actor_id``, transfer talking call ``call_id`` (``kind`` a kind of
    :data:`TRANSFER_COMMANDS`); the reply ``{"ok": true, …}`` or ``{"ok": false, …}``."""
    cmd, field = next((c, f) for c, (k, f) in TRANSFER_COMMANDS.items() if k == kind)
    return request(client, {"cmd": cmd, "tenant_id": tenant_id, "actor_id": actor_id,
                            "call_id": call_id, field: value}, timeout_s, cmd)


def send_admin_command(client: StreamClient, command: Mapping[str, Any]) -> str:
    """Append ``command`` to the admin stream (needs the Redis ``admin`` user); its id."""
    return send(client, command, ADMIN_STREAM)
