"""The guard's rules for chat commands: the visitor's (no actor; the chat's tenant and
state) and the agent's (the offered / holding agent; transfer also by staff)."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.security import command_rules as rules
from controlplane.security.command_rules import Actor, Facts, Owner, Ref

T1, T2 = 1, 2
SUPER = Actor(11, T1, "supervisor", True, "sup@one")
AGENT = Actor(12, T1, "agent", True, "agent@one")
OTHER = Actor(13, T1, "agent", True, "other@one")
WAITING, OFFERED, ACTIVE, ENDED, FOREIGN = 1, 2, 3, 4, 5


def world() -> dict[Ref, Owner]:
    return {
        Ref("chat", WAITING): Owner(T1, None, "waiting"),
        Ref("chat", OFFERED): Owner(T1, AGENT.user_id, "offered"),
        Ref("chat", ACTIVE): Owner(T1, AGENT.user_id, "active"),
        Ref("chat", ENDED): Owner(T1, AGENT.user_id, "ended"),
        Ref("chat", FOREIGN): Owner(T2, None, "waiting"),
        Ref("user", OTHER.user_id): Owner(T1, OTHER.user_id),
        Ref("user", 99): Owner(T2, 99),
        Ref("queue", 7): Owner(T1),
        Ref("queue", 8): Owner(T2),
    }


def verdict(actor: Actor | None, cmd: str, chat: int, **extra: Any) -> rules.Verdict:
    entry = {"cmd": cmd, "tenant_id": T1, "actor_id": actor.user_id if actor else None,
             "chat_id": chat, **extra}
    try:
        req = rules.parse(entry)
    except rules.Refused as refused:
        return refused.verdict
    known = world()
    return rules.decide(req, Facts(actor, {r: known.get(r) for r in req.objects}))


@pytest.mark.parametrize(
    ("cmd", "chat", "code"),
    [
        ("chat.enqueue", WAITING, ""),
        ("chat.enqueue", ACTIVE, "forbidden"),  # only a waiting chat is enqueued
        ("chat.leave", OFFERED, ""),
        ("chat.leave", ACTIVE, ""),
        ("chat.leave", ENDED, "forbidden"),
        ("chat.leave", FOREIGN, "foreign_object"),
        ("chat.leave", 404, "not_found"),
    ],
)
def test_visitor_actions_need_no_user_but_a_fitting_chat_of_the_tenant(
    cmd: str, chat: int, code: str
) -> None:
    v = verdict(None, cmd, chat)
    assert (v.ok, v.code) == (code == "", code)


def test_a_visitor_action_naming_a_user_and_an_agent_action_without_one_are_refused() -> None:
    assert verdict(AGENT, "chat.leave", WAITING).code == "bad_command"
    assert verdict(None, "chat.accept", OFFERED).code == "bad_command"


@pytest.mark.parametrize(
    ("actor", "cmd", "chat", "ok"),
    [
        (AGENT, "chat.accept", OFFERED, True),
        (OTHER, "chat.accept", OFFERED, False),  # offered to someone else
        (AGENT, "chat.accept", ACTIVE, False),  # not offered any more
        (AGENT, "chat.decline", OFFERED, True),
        (SUPER, "chat.accept", OFFERED, False),
        (AGENT, "chat.end", ACTIVE, True),
        (OTHER, "chat.end", ACTIVE, False),
        (AGENT, "chat.end", OFFERED, False),
    ],
)
def test_agent_actions_are_the_offered_or_holding_agents(
    actor: Actor, cmd: str, chat: int, ok: bool
) -> None:
    assert verdict(actor, cmd, chat).ok is ok


@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        (AGENT, "queue:7", ""),
        (AGENT, f"agent:{OTHER.user_id}", ""),
        (SUPER, "queue:7", ""),  # staff may move a chat they do not hold
        (OTHER, "queue:7", "forbidden"),
        (AGENT, "queue:8", "foreign_object"),
        (AGENT, "agent:99", "foreign_object"),
        (AGENT, "team:3", "bad_command"),
    ],
)
def test_transfer_by_the_holder_or_staff_to_the_tenants_agent_or_queue(
    actor: Actor, target: str, code: str
) -> None:
    v = verdict(actor, "chat.transfer", ACTIVE, target=target)
    assert (v.ok, v.code) == (code == "", code)
