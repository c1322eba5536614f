"""The guard's rules for the ticket commands: ``ticket.sync`` needs no user (the daemon only
re-reads the ticket), the agent's accept/decline only for the agent the routing row offers
it to, release only for the agent holding it; another tenant's ticket is never found."""

from __future__ import annotations

from typing import Any

from controlplane.security import command_rules as rules
from controlplane.security.command_rules import Actor, Facts, Owner, Ref

T1, T2 = 1, 2
AGENT = Actor(10, T1, "agent", True, "a@t1")
OTHER = Actor(11, T1, "agent", True, "b@t1")
ADMIN = Actor(12, T1, "admin", True, "adm@t1")
TICKETS = {Ref("ticket", 100): Owner(T1, AGENT.user_id, "offered"),
           Ref("ticket", 101): Owner(T1, AGENT.user_id, "held"),
           Ref("ticket", 102): Owner(T1, None, None),  # not routed
           Ref("ticket", 200): Owner(T2, 99, "offered")}


def verdict(actor: Actor | None, cmd: str, ticket: int) -> rules.Verdict:
    entry: dict[str, Any] = {"cmd": cmd, "tenant_id": T1, "ticket_id": ticket,
                             "actor_id": actor.user_id if actor else None}
    try:
        req = rules.parse(entry)
    except rules.Refused as refused:
        return refused.verdict
    return rules.decide(req, Facts(actor, {r: TICKETS.get(r) for r in req.objects}))


def test_sync_needs_no_user_but_a_ticket_of_the_tenant() -> None:
    assert verdict(None, "ticket.sync", 102).ok
    assert verdict(None, "ticket.sync", 200).code == "foreign_object"
    assert verdict(None, "ticket.sync", 999).code == "not_found"
    assert verdict(AGENT, "ticket.sync", 102).code == "bad_command"  # it names no user


def test_accept_and_decline_only_by_the_agent_offered() -> None:
    for cmd in ("ticket.accept", "ticket.decline"):
        assert verdict(AGENT, cmd, 100).ok
        assert verdict(OTHER, cmd, 100).code == "forbidden"
        assert verdict(ADMIN, cmd, 100).code == "forbidden"
        assert verdict(AGENT, cmd, 101).code == "forbidden"  # held, not offered
        assert verdict(AGENT, cmd, 102).code == "forbidden"
        assert verdict(AGENT, cmd, 200).reply_code == "not_found"
        assert verdict(None, cmd, 100).code == "bad_command"


def test_release_only_by_the_agent_holding_it() -> None:
    assert verdict(AGENT, "ticket.release", 101).ok
    assert verdict(OTHER, "ticket.release", 101).code == "forbidden"
    assert verdict(AGENT, "ticket.release", 100).code == "forbidden"
