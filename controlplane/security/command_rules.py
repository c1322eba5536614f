"""Who may ask the control plane daemon for what: the rule table of panel commands (pure).

Theory of operation
-------------------
The panel asks the daemon for things over the ``centrala:commands`` stream. Whatever can
write to that stream could claim to be anybody, so the daemon believes nothing the panel
checked. Every entry names its acting user (``actor_id``) and tenant (``tenant_id``);
:func:`parse` reads what the command names, the daemon looks the :class:`Facts` up in the
database, and :func:`decide` answers from the table below. A forged entry can therefore do
no more than the user it names could do in the panel.

First, for every command: the actor exists, belongs to ``tenant_id`` and is active; every
object the command names exists and belongs to ``tenant_id``. Then one line of the table
must allow it:

=========================  ==============================  ==================================
command                    who                             objects (ids in the command)
=========================  ==============================  ==================================
acd.reload                 admin                           -
acd.webphone               anyone, for themselves          the user ``user_id`` (== actor)
acd.agent, own status      anyone, ``user_id`` == actor:   the agent ``user_id``
                           login ready break cancel_break
                           logout
acd.agent, another agent   admin, supervisor: approve      the agent ``user_id``
                           deny force logout
calls.record               admin, supervisor; an agent     the call ``call_id``
                           on their own call
calls.transfer             admin, supervisor; an agent     the call ``call_id``, the queue
                           on their own call               ``queue_id``
calls.transfer_agent       admin, supervisor; an agent     the call ``call_id``, the user
                           on their own call               ``user_id``
calls.transfer_number      admin, supervisor; an agent     the call ``call_id`` (the daemon
                           on their own call               routes and guards the number)
calls.consult_agent,       admin, supervisor; an agent     the call ``call_id``; the user
calls.consult_number,      on their own call               ``user_id`` (consult_agent)
calls.consult_end
supervision                admin, supervisor               (the daemon checks its target)
dialer.preview_batch       anyone, for themselves          the campaign ``campaign_id``
dialer.preview_dial|skip   (``user_id`` == actor)          the campaign, its ``record_id``
dialer.place               nobody: the campaign runner places calls in-process
chat.enqueue, chat.leave   the visitor: no actor           the chat ``chat_id``, in a state
                           (``actor_id`` null)             the action fits (:data:`VISITOR`)
chat.accept, chat.decline  the agent it is offered to      the chat (status offered)
chat.end                   the agent holding it            the chat (status active)
chat.transfer              the agent holding it; admin,    the chat (active); the target
                           supervisor                      ``agent:<user>`` / ``queue:<id>``
ticket.sync                no actor (a channel or panel    the ticket ``ticket_id`` (the
                           saying "re-read it")            daemon only re-reads the database)
ticket.accept, .decline    the agent it is offered to      the ticket (routing row offered)
ticket.release             the agent holding it            the ticket (routing row held)
anything else              nobody
=========================  ==============================  ==================================

A visitor's chat command names no user (the visitor has no account: whoever holds the
chat's secret ``public_id`` is the visitor, and the panel checked it); the chat must be the
tenant's and in a state the action fits, so a forged entry can at most end a live chat of
that tenant early. The daemon's ACD checks the live offer again (the database may lag it).

The table mirrors the panel's own checks (``web/agents.py``, ``web/queues.py``,
``web/campaigns.py``): a refusal here means a panel bug or a forged entry, so every one is
audited (``command.refused``) with the severity of :data:`SEVERITY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.bus import AGENT_ACTIONS, COMMANDS

ADMIN, SUPERVISOR, AGENT = "admin", "supervisor", "agent"  # controlplane.models.Role values
ANYONE = frozenset({ADMIN, SUPERVISOR, AGENT})
STAFF = frozenset({ADMIN, SUPERVISOR})
SELF_AGENT_COMMANDS = frozenset({"login", "ready", "break", "cancel_break", "logout"})
SUPERVISOR_AGENT_COMMANDS = frozenset({"approve", "deny", "force", "logout"})
AGENT_COMMANDS = frozenset(AGENT_ACTIONS)  # the bus's; each is in one of the two sets above

# Whose object the target must be: None (no condition), "self" (the command's user_id is
# the actor), "other" (it is not), "own_call" (the actor is the call's agent),
# "offered_chat" / "held_chat" (the chat is offered to / held by the actor), "open_chat"
# (the chat is held by an agent).
Target = str | None
# The visitor's chat commands (no actor) and the chat statuses each fits.
VISITOR: dict[str, frozenset[str]] = {
    "chat.enqueue": frozenset({"waiting"}),
    "chat.leave": frozenset({"waiting", "offered", "active"}),
    "ticket.sync": frozenset(),  # any state: the daemon decides from the database
}


@dataclass(frozen=True)
class Rule:
    """One line of the table: these roles may, for these actions, on this target."""

    roles: frozenset[str]
    actions: frozenset[str] | None = None  # acd.agent's "command"; None: not asked
    target: Target = None


RULES: dict[str, tuple[Rule, ...]] = {
    "acd.reload": (Rule(frozenset({ADMIN})),),
    "acd.webphone": (Rule(ANYONE, target="self"),),
    "acd.agent": (Rule(ANYONE, SELF_AGENT_COMMANDS, "self"),
                  Rule(STAFF, SUPERVISOR_AGENT_COMMANDS, "other")),
    "calls.record": (Rule(STAFF), Rule(frozenset({AGENT}), target="own_call")),
    "calls.transfer": (Rule(STAFF), Rule(frozenset({AGENT}), target="own_call")),
    "calls.transfer_agent": (Rule(STAFF), Rule(frozenset({AGENT}), target="own_call")),
    "calls.transfer_number": (Rule(STAFF), Rule(frozenset({AGENT}), target="own_call")),
    **dict.fromkeys(("calls.consult_agent", "calls.consult_number", "calls.consult_end"),
                    (Rule(STAFF), Rule(frozenset({AGENT}), target="own_call"))),
    "supervision": (Rule(STAFF),),
    "dialer.preview_batch": (Rule(ANYONE, target="self"),),
    "dialer.preview_dial": (Rule(ANYONE, target="self"),),
    "dialer.preview_skip": (Rule(ANYONE, target="self"),),
    # the visitor's: no user at all (parse refuses one); VISITOR says which chats fit
    "chat.enqueue": (),
    "chat.leave": (),
    "chat.accept": (Rule(ANYONE, target="offered_chat"),),
    "chat.decline": (Rule(ANYONE, target="offered_chat"),),
    "chat.end": (Rule(ANYONE, target="held_chat"),),
    "chat.transfer": (Rule(ANYONE, target="held_chat"), Rule(STAFF, target="open_chat")),
    "ticket.sync": (),
    "ticket.accept": (Rule(ANYONE, target="offered_ticket"),),
    "ticket.decline": (Rule(ANYONE, target="offered_ticket"),),
    "ticket.release": (Rule(ANYONE, target="held_ticket"),),
}
# The fields each command must carry besides cmd, actor_id and tenant_id come from the bus's
# command table (one definition for the sender, this guard and the daemon's handlers); an id
# field names an object that must belong to the tenant.
FIELDS: dict[str, Mapping[str, type]] = {c.name: c.fields for c in COMMANDS.values()
                                         if not c.admin_only}
OBJECT_FIELDS = {"user_id": "user", "call_id": "call", "campaign_id": "campaign",
                 "record_id": "record", "queue_id": "queue", "chat_id": "chat",
                 "ticket_id": "ticket"}
# Why the daemon refused, and how loud the audit line is: "alert" for what only a forged
# entry can carry (an actor outside the tenant, a dialer command), "warning" for what the
# panel does not send or a user reaching for another tenant's object by its id.
SEVERITY = {
    "bad_command": "warning",
    "not_accepted": "warning",
    "not_on_stream": "alert",
    "unknown_user": "warning",
    "wrong_tenant": "alert",
    "inactive_user": "info",
    "not_found": "info",
    "foreign_object": "warning",
    "forbidden": "warning",
}
NOT_ON_STREAM = {c.name: c.admin_only for c in COMMANDS.values() if c.admin_only}


@dataclass(frozen=True)
class Ref:
    """An object a command names: ``kind`` (user, call, campaign, record, chat, queue) and
    its id."""

    kind: str
    key: int | str


@dataclass(frozen=True)
class Request:
    """What one command asks for, as far as the rules care."""

    cmd: str
    actor_id: int | None  # None: a visitor's chat command (VISITOR)
    tenant_id: int
    action: str | None = None  # acd.agent's "command"
    user_id: int | None = None  # the agent the command is for (acd.agent, preview)
    objects: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Actor:
    """The acting user as the database knows them."""

    user_id: int
    tenant_id: int
    role: str
    active: bool
    address: str  # login@domain, for audit lines and the agent log's "by"


@dataclass(frozen=True)
class Owner:
    """Whose an object is: its tenant, and for a call the agent user on it (if any); for a
    chat the agent it is offered to or held by, and its status (``state``)."""

    tenant_id: int | None
    user_id: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the database says about a request: the actor (None: no such user) and the
    owner of every object it names (None: not found)."""

    actor: Actor | None
    objects: Mapping[Ref, Owner | None]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str = ""
    reason: str = ""  # for the audit trail
    shown: str = ""  # for the user, when ``reason`` would say too much

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.code, "warning")

    @property
    def reply_code(self) -> str:
        """The code the panel gets: another tenant's object is "not found" there, exactly
        like one that does not exist, so ids cannot be probed across tenants."""
        return "not_found" if self.code == "foreign_object" else self.code

    @property
    def reply_reason(self) -> str:
        return self.shown or self.reason


ALLOWED = Verdict(True)


class Refused(Exception):
    """A command refused before any look-up (malformed, or never accepted here)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.verdict = Verdict(False, code, reason)


def _int(command: Mapping[str, Any], name: str) -> int:
    value = command.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused("bad_command", f"field {name!r}: expected an integer, got {value!r}")
    return value


def _str(command: Mapping[str, Any], name: str) -> str:
    value = command.get(name)
    if not isinstance(value, str) or not value:
        raise Refused("bad_command", f"field {name!r}: expected a non-empty string, got {value!r}")
    return value


def parse(command: object) -> Request:
    """The :class:`Request` of one stream entry; raises :class:`Refused` for an entry that
    is malformed, lacks its actor or tenant, or is never accepted from the stream."""
    if not isinstance(command, Mapping):
        raise Refused("bad_command", f"a command is a JSON object, not {type(command).__name__}")
    cmd = command.get("cmd")
    if not isinstance(cmd, str):
        raise Refused("bad_command", f"field 'cmd': expected a string, got {cmd!r}")
    if cmd in NOT_ON_STREAM:
        raise Refused("not_on_stream", f"{cmd} is not accepted from the command stream: "
                                       f"{NOT_ON_STREAM[cmd]}")
    if cmd not in FIELDS:
        raise Refused("not_accepted", f"unknown command {cmd!r}")
    if cmd in VISITOR:
        if command.get("actor_id") is not None:
            raise Refused("bad_command", f"{cmd} is the visitor's: it names no user")
        actor_id: int | None = None
    else:
        actor_id = _int(command, "actor_id")
    tenant_id = _int(command, "tenant_id")
    values: dict[str, int | str] = {}
    for name, kind in FIELDS[cmd].items():
        values[name] = _int(command, name) if kind is int else _str(command, name)
    refs = [Ref(OBJECT_FIELDS[n], v) for n, v in values.items() if n in OBJECT_FIELDS]
    if cmd == "chat.transfer":
        refs.append(_transfer_target(str(values["target"])))
    action = values.get("command")
    if action is not None and action not in AGENT_COMMANDS:
        raise Refused("bad_command", f"field 'command': unknown agent command {action!r}")
    user_id = values.get("user_id")
    return Request(cmd, actor_id, tenant_id, str(action) if action is not None else None,
                   int(user_id) if user_id is not None else None, tuple(refs))


def _transfer_target(target: str) -> Ref:
    """The object a chat transfer's ``target`` names: ``agent:<user id>`` or ``queue:<id>``."""
    kind, _, value = target.partition(":")
    if kind not in ("agent", "queue") or not value.isdigit():
        raise Refused("bad_command", f"field 'target': expected agent:<id> or queue:<id>, "
                                     f"got {target!r}")
    return Ref("user" if kind == "agent" else "queue", int(value))


def _chat(req: Request, facts: Facts) -> Owner | None:
    chats = [facts.objects.get(r) for r in req.objects if r.kind == "chat"]
    return chats[0] if chats else None


def _target_ok(rule: Rule, req: Request, actor: Actor, facts: Facts) -> bool:
    if rule.target == "self":
        return req.user_id == actor.user_id
    if rule.target == "other":
        return req.user_id is not None and req.user_id != actor.user_id
    if rule.target == "own_call":
        calls = [facts.objects.get(r) for r in req.objects if r.kind == "call"]
        return bool(calls) and all(o is not None and o.user_id == actor.user_id for o in calls)
    if rule.target in ("offered_chat", "held_chat", "open_chat"):
        chat = _chat(req, facts)
        state = {"offered_chat": "offered"}.get(rule.target, "active")
        mine = rule.target == "open_chat" or (chat is not None and chat.user_id == actor.user_id)
        return chat is not None and chat.state == state and mine
    if rule.target in ("offered_ticket", "held_ticket"):
        tickets = [facts.objects.get(r) for r in req.objects if r.kind == "ticket"]
        k = tickets[0] if tickets else None
        return (k is not None and k.user_id == actor.user_id
                and k.state == rule.target.removesuffix("_ticket"))
    return True


def _what(req: Request) -> str:
    what = req.cmd + (f" {req.action}" if req.action else "")
    if req.user_id is not None:
        what += " for themselves" if req.user_id == req.actor_id else f" for user {req.user_id}"
    return what


def decide(req: Request, facts: Facts) -> Verdict:
    """Allow ``req`` or say why not (the module docstring's order and table)."""
    if req.actor_id is None:
        return _visitor(req, facts)
    actor = facts.actor
    if actor is None:
        return Verdict(False, "unknown_user", f"no user {req.actor_id}")
    if actor.tenant_id != req.tenant_id:
        return Verdict(False, "wrong_tenant", f"user {actor.address} is not of tenant "
                                              f"{req.tenant_id}")
    if not actor.active:
        return Verdict(False, "inactive_user", f"user {actor.address} is deactivated")
    found = _objects(req, facts)
    if found is not None:
        return found
    for rule in RULES[req.cmd]:
        if (actor.role in rule.roles
                and (rule.actions is None or req.action in rule.actions)
                and _target_ok(rule, req, actor, facts)):
            return ALLOWED
    return Verdict(False, "forbidden", f"{actor.role} {actor.address} may not {_what(req)}")


def _objects(req: Request, facts: Facts) -> Verdict | None:
    """Refused unless every object the request names exists and is the tenant's."""
    for ref in req.objects:
        owner = facts.objects.get(ref)
        if owner is None or owner.tenant_id is None:
            return Verdict(False, "not_found", f"no {ref.kind} {ref.key!r}")
        if owner.tenant_id != req.tenant_id:
            return Verdict(False, "foreign_object", f"{ref.kind} {ref.key!r} belongs to another "
                                                    "tenant", f"no {ref.kind} {ref.key!r}")
    return None


def _visitor(req: Request, facts: Facts) -> Verdict:
    """A visitor's chat command: the chat is the tenant's and its status fits the action."""
    if req.cmd not in VISITOR:
        return Verdict(False, "unknown_user", f"{req.cmd} needs an acting user")
    found = _objects(req, facts)
    if found is not None:
        return found
    if req.cmd == "ticket.sync":
        return ALLOWED
    chat = _chat(req, facts)
    if chat is None or chat.state not in VISITOR[req.cmd]:
        state = chat.state if chat is not None else None
        return Verdict(False, "forbidden", f"{req.cmd} does not fit a chat that is {state}")
    return ALLOWED
