"""The rule table of panel → daemon commands (``controlplane.security.command_rules``)."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.security import command_rules as rules
from controlplane.security.command_rules import Actor, Facts, Owner, Ref

T1, T2 = 1, 2
ADMIN = Actor(10, T1, "admin", True, "admin@one")
SUPER = Actor(11, T1, "supervisor", True, "sup@one")
AGENT = Actor(12, T1, "agent", True, "agent@one")
OTHER_AGENT = 13  # another agent of tenant 1
STRANGER = 20  # an agent of tenant 2
CALL, FOREIGN_CALL = "c-1", "c-2"


def owners() -> dict[Ref, Owner | None]:
    """Every object of the world below, by the ids the commands name."""
    return {
        Ref("user", ADMIN.user_id): Owner(T1, ADMIN.user_id),
        Ref("user", SUPER.user_id): Owner(T1, SUPER.user_id),
        Ref("user", AGENT.user_id): Owner(T1, AGENT.user_id),
        Ref("user", OTHER_AGENT): Owner(T1, OTHER_AGENT),
        Ref("user", STRANGER): Owner(T2, STRANGER),
        Ref("call", CALL): Owner(T1, AGENT.user_id),  # AGENT is on it
        Ref("call", FOREIGN_CALL): Owner(T2, STRANGER),
        Ref("campaign", 5): Owner(T1),
        Ref("campaign", 6): Owner(T2),
        Ref("record", 50): Owner(T1),
        Ref("record", 60): Owner(T2),
        Ref("queue", 7): Owner(T1),
        Ref("queue", 8): Owner(T2),
    }


def verdict(actor: Actor | None, command: dict[str, Any], *, actor_id: int | None = None,
            tenant: int = T1) -> rules.Verdict:
    """Parse and decide ``command`` as sent by ``actor`` (the facts the daemon would load)."""
    entry = {"actor_id": actor.user_id if actor else actor_id, "tenant_id": tenant, **command}
    try:
        req = rules.parse(entry)
    except rules.Refused as refused:
        return refused.verdict
    known = owners()
    return rules.decide(req, Facts(actor, {ref: known.get(ref) for ref in req.objects}))


def agent_cmd(action: str, user_id: int) -> dict[str, Any]:
    return {"cmd": "acd.agent", "command": action, "user_id": user_id}


def preview(kind: str, user_id: int, campaign: int = 5, record: int | None = 50) -> dict[str, Any]:
    body: dict[str, Any] = {"cmd": f"dialer.preview_{kind}", "user_id": user_id,
                            "campaign_id": campaign}
    if kind != "batch" and record is not None:
        body["record_id"] = record
    return body


ALLOWED = [
    ("admin reloads", ADMIN, {"cmd": "acd.reload"}),
    ("agent's own new webphone", AGENT, {"cmd": "acd.webphone", "user_id": AGENT.user_id}),
    ("agent's own login", AGENT, agent_cmd("login", AGENT.user_id)),
    ("agent's own break", AGENT, agent_cmd("break", AGENT.user_id)),
    ("supervisor's own ready", SUPER, agent_cmd("ready", SUPER.user_id)),
    ("supervisor approves an agent", SUPER, agent_cmd("approve", AGENT.user_id)),
    ("admin forces an agent's break", ADMIN, agent_cmd("force", AGENT.user_id)),
    ("supervisor logs an agent out", SUPER, agent_cmd("logout", AGENT.user_id)),
    ("supervisor records a call", SUPER, {"cmd": "calls.record", "call_id": CALL}),
    ("agent records their own call", AGENT, {"cmd": "calls.record", "call_id": CALL}),
    ("agent transfers their own call", AGENT,
     {"cmd": "calls.transfer", "call_id": CALL, "queue_id": 7}),
    ("supervisor transfers a call", SUPER,
     {"cmd": "calls.transfer", "call_id": CALL, "queue_id": 7}),
    ("agent's preview batch", AGENT, preview("batch", AGENT.user_id)),
    ("supervisor listens to an agent", SUPER,
     {"cmd": "supervision", "action": "start", "target": "agent:12", "mode": "listen"}),
    ("admin barges into a call", ADMIN,
     {"cmd": "supervision", "action": "start", "target": f"call:{CALL}", "mode": "barge"}),
    ("agent dials from their batch", AGENT, preview("dial", AGENT.user_id)),
    ("agent skips a record", AGENT, preview("skip", AGENT.user_id)),
]

REFUSED = [
    # who, what: the code the daemon refuses with
    ("supervisor reloads", SUPER, {"cmd": "acd.reload"}, "forbidden"),
    ("agent reloads", AGENT, {"cmd": "acd.reload"}, "forbidden"),
    ("agent's webphone for someone else", AGENT,
     {"cmd": "acd.webphone", "user_id": OTHER_AGENT}, "forbidden"),
    ("agent approves someone", AGENT, agent_cmd("approve", OTHER_AGENT), "forbidden"),
    ("agent logs another agent out", AGENT, agent_cmd("logout", OTHER_AGENT), "forbidden"),
    ("agent approves their own break", AGENT, agent_cmd("approve", AGENT.user_id), "forbidden"),
    ("supervisor sets another's ready", SUPER, agent_cmd("ready", AGENT.user_id), "forbidden"),
    ("supervisor forces another tenant's agent", SUPER, agent_cmd("force", STRANGER),
     "foreign_object"),
    ("agent records a colleague's call", Actor(13, T1, "agent", True, "a2@one"),
     {"cmd": "calls.record", "call_id": CALL}, "forbidden"),
    ("supervisor records another tenant's call", SUPER,
     {"cmd": "calls.record", "call_id": FOREIGN_CALL}, "foreign_object"),
    ("a call that does not exist", SUPER, {"cmd": "calls.record", "call_id": "nope"},
     "not_found"),
    ("agent transfers a colleague's call", Actor(13, T1, "agent", True, "a2@one"),
     {"cmd": "calls.transfer", "call_id": CALL, "queue_id": 7}, "forbidden"),
    ("a transfer to another tenant's queue", AGENT,
     {"cmd": "calls.transfer", "call_id": CALL, "queue_id": 8}, "foreign_object"),
    ("a transfer to no queue", AGENT,
     {"cmd": "calls.transfer", "call_id": CALL, "queue_id": 99}, "not_found"),
    ("agent listens to a colleague", AGENT,
     {"cmd": "supervision", "action": "start", "target": "agent:13", "mode": "listen"},
     "forbidden"),
    ("supervision without a target", SUPER, {"cmd": "supervision", "action": "stop"},
     "bad_command"),
    ("preview for someone else", SUPER, preview("batch", AGENT.user_id), "forbidden"),
    ("preview of another tenant's campaign", AGENT, preview("batch", AGENT.user_id, 6),
     "foreign_object"),
    ("dial another tenant's record", AGENT, preview("dial", AGENT.user_id, 5, 60),
     "foreign_object"),
    ("unknown agent command", AGENT, agent_cmd("dance", AGENT.user_id), "bad_command"),
    ("dial without a record", AGENT, preview("dial", AGENT.user_id, record=None), "bad_command"),
    ("a string where an id goes", AGENT, {"cmd": "acd.agent", "command": "login",
                                          "user_id": "12"}, "bad_command"),
    ("unknown command", ADMIN, {"cmd": "system.shutdown"}, "not_accepted"),
    ("dialer.place from the stream", ADMIN, {"cmd": "dialer.place", "number": "1001"},
     "not_on_stream"),
    ("an inactive admin", Actor(10, T1, "admin", False, "admin@one"), {"cmd": "acd.reload"},
     "inactive_user"),
]


@pytest.mark.parametrize(("who", "actor", "command"), ALLOWED, ids=[a[0] for a in ALLOWED])
def test_allowed(who: str, actor: Actor, command: dict[str, Any]) -> None:
    assert verdict(actor, command) == rules.ALLOWED, who


@pytest.mark.parametrize(("who", "actor", "command", "code"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_refused(who: str, actor: Actor, command: dict[str, Any], code: str) -> None:
    v = verdict(actor, command)
    assert not v.ok and v.code == code, (who, v)
    assert v.reason  # says why
    assert v.severity in ("info", "warning", "alert")


def test_every_allowed_command_is_refused_to_a_user_of_another_tenant() -> None:
    """The same commands, named for tenant 1 by a user of tenant 2: wrong_tenant, an alert."""
    for _who, actor, command in ALLOWED:
        stranger = Actor(actor.user_id, T2, actor.role, True, "x@two")
        v = verdict(stranger, command)
        assert v.code == "wrong_tenant" and v.severity == "alert", (command, v)


def test_unknown_actor_and_missing_envelope() -> None:
    assert verdict(None, {"cmd": "acd.reload"}, actor_id=999).code == "unknown_user"
    for broken in ({"cmd": "acd.reload", "tenant_id": 1},  # no actor
                   {"cmd": "acd.reload", "actor_id": 10},  # no tenant
                   {"cmd": "acd.reload", "actor_id": True, "tenant_id": 1},  # bool is no id
                   {"actor_id": 10, "tenant_id": 1},  # no cmd
                   ["acd.reload"], None):
        with pytest.raises(rules.Refused) as err:
            rules.parse(broken)
        assert err.value.verdict.code == "bad_command", broken


def test_forged_actors_and_dialer_refusals_are_alerts() -> None:
    assert verdict(Actor(ADMIN.user_id, T2, "admin", True, "x@two"),
                   {"cmd": "acd.reload"}).severity == "alert"
    assert verdict(ADMIN, {"cmd": "dialer.place"}).severity == "alert"
    assert verdict(SUPER, agent_cmd("force", STRANGER)).severity == "warning"
    assert verdict(AGENT, agent_cmd("approve", OTHER_AGENT)).severity == "warning"


def test_another_tenants_object_looks_like_a_missing_one_to_the_user() -> None:
    v = verdict(AGENT, preview("batch", AGENT.user_id, 6))
    assert (v.code, v.reply_code, v.reply_reason) == ("foreign_object", "not_found",
                                                      "no campaign 6")
    assert "another tenant" in v.reason  # the audit trail says what happened
    missing = verdict(AGENT, preview("batch", AGENT.user_id, 7))
    assert (missing.reply_code, missing.reply_reason) == ("not_found", "no campaign 7")


def test_every_command_of_the_table_names_its_fields() -> None:
    assert set(rules.RULES) == set(rules.FIELDS)
    assert not set(rules.NOT_ON_STREAM) & set(rules.RULES)
