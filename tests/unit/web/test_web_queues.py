"""Queue configuration, break reasons and the wallboard: validation that names the field,
writes to the real database, the ``acd.reload`` command on the real Redis, roles, tenants."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.acd.http.schemas import QueueBody
from controlplane.bus import COMMANDS_STREAM
from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import AgentBreakReason, Queue, QueueMember
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def users(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with store() as s:
        rows = s.execute(select(User.login, Tenant.domain, User.id).join(Tenant)).all()
    return {f"{lg}@{d}": uid for lg, d, uid in rows}


def reloads(r) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [json.loads(f["data"]) for _, f in r.xrange(COMMANDS_STREAM)]


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def errors_of(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_form"
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


def form(**kw: str) -> dict[str, str]:
    base = {
        "name": unique("sales"),
        "strategy": "linear",
        "ring_timeout_s": "15",
        "wrap_up_s": "5",
        "max_wait_s": "",
        "max_waiting": "",
        "overflow_queue_id": "",
        "no_agents": "wait",
        "announce_every_s": "30",
        "recording": "always",
        "sl_threshold_s": "20",
        "sticky_wait_s": "0",
        "sticky_max_age_s": "",
        "skill_preference": "closest",
        "aging_rate_per_s": "0",
        "aging_max_bonus": "",
        "serve_order": "0",
        "moh_class": "default",
    }
    base.update(kw)
    return base


def make_queue(client, csrf, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = api(client, csrf, "POST", "/api/v1/queues", {"name": unique("q"), **kw})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    queue: dict[str, Any] = resp.get_json()["queue"]
    return queue


def test_roles_of_queue_views(app) -> None:  # type: ignore[no-untyped-def]
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    for endpoint in (
        "queues.index",
        "queues.create",
        "queues.edit",
        "queues.delete",
        "queues.breaks",
        "queues.delete_break",
        "queues.api_list",
        "queues.api_create",
        "queues.api_get",
        "queues.api_update",
        "queues.api_delete",
        "queues.api_breaks",
        "queues.api_add_break",
        "queues.api_delete_break",
    ):
        assert roles[endpoint] == {Role.ADMIN}, endpoint
    for endpoint in ("queues.wall", "queues.api_stats"):
        assert roles[endpoint] == {Role.ADMIN, Role.SUPERVISOR}


def test_create_queue_from_the_form_with_members_and_reload(  # type: ignore[no-untyped-def]
    client, login, csrf, users, store, world, redis_client
) -> None:
    login(ADMIN)
    a1, a2 = users[AGENT1], users[f"agent2@{DEMO_DOMAIN}"]
    data = form(max_wait_s="120", max_waiting="5")
    resp = client.post(
        "/queues/new",
        data={
            **data,
            "csrf_token": csrf(client),
            f"member_{a1}": "1",
            f"penalty_{a1}": "2",
            f"member_{a2}": "1",
            f"penalty_{a2}": "0",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with store() as s:
        q = s.scalar(select(Queue).where(Queue.name == data["name"]))
        assert q is not None and q.tenant_id == world.demo_tenant
        assert (q.strategy, q.ring_timeout_s, q.wrap_up_s, q.max_wait_s, q.max_waiting) == (
            "linear",
            15.0,
            5.0,
            120.0,
            5,
        )
        assert q.sticky_max_age_s is None and q.overflow_queue_id is None
        members = {
            m.user_id: m.penalty
            for m in s.scalars(select(QueueMember).where(QueueMember.queue_id == q.id))
        }
    assert members == {a1: 2, a2: 0}
    assert reloads(redis_client) == [{"cmd": "acd.reload", "tenant_id": world.demo_tenant,
                                      "actor_id": users[ADMIN]}]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert (
        "queue saved" in page
        and f'name="member_{a1}" value="1" aria-label="member agent1" checked' in page
    )


def test_form_errors_name_each_bad_field_and_nothing_is_saved(  # type: ignore[no-untyped-def]
    client, login, csrf, store, users, redis_client
) -> None:
    login(ADMIN)
    a1 = users[AGENT1]
    data = form(
        strategy="bogus",
        ring_timeout_s="0",
        max_wait_s="-1",
        max_waiting="0",
        no_agents="overflow",
        wrap_up_s="soon",
        name="no spaces",
    )
    resp = client.post(
        "/queues/new",
        data={**data, "csrf_token": csrf(client), f"member_{a1}": "1", f"penalty_{a1}": "-3"},
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    for field in (
        "name",
        "strategy",
        "ring_timeout_s",
        "wrap_up_s",
        "max_wait_s",
        "max_waiting",
        "no_agents",
        f"members.{a1}.penalty",
    ):
        assert f'data-error-for="{field}"' in page, field
    assert "ring_timeout_s: must be greater than 0" in page
    assert "strategy: must be one of linear, random, round_robin" in page
    assert 'value="bogus"' not in page.split('name="strategy"', 1)[0]  # the form is kept
    assert 'value="no spaces"' in page
    with store() as s:
        assert s.scalar(select(Queue).where(Queue.name == "no spaces")) is None
    assert reloads(redis_client) == []


def test_overflow_must_be_another_queue_of_the_same_tenant(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, redis_client
) -> None:
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        foreign = make_queue(acme, csrf)
    login(ADMIN)
    resp = api(
        client,
        csrf,
        "POST",
        "/api/v1/queues",
        {"name": unique("q"), "overflow_queue_id": foreign["id"]},
    )
    assert resp.status_code == 422
    assert errors_of(resp) == {"overflow_queue_id": "no such queue in this tenant"}
    own = make_queue(client, csrf)
    resp = api(client, csrf, "PUT", f"/api/v1/queues/{own['id']}", {"overflow_queue_id": own["id"]})
    assert errors_of(resp) == {"overflow_queue_id": "a queue cannot overflow to itself"}
    resp = client.post(
        f"/queues/{own['id']}",
        data={
            **form(name=own["name"], overflow_queue_id=str(own["id"])),
            "csrf_token": csrf(client),
        },
    )
    assert resp.status_code == 422
    assert 'data-error-for="overflow_queue_id"' in resp.get_data(as_text=True)


def test_api_crud_keeps_unsent_fields_and_reloads_each_time(  # type: ignore[no-untyped-def]
    client, login, csrf, users, world, redis_client
) -> None:
    login(ADMIN)
    a1 = users[AGENT1]
    q = make_queue(client, csrf, strategy="ring_all", members=[{"user_id": a1, "penalty": 1}])
    assert (q["strategy"], q["ring_timeout_s"], q["members"]) == (
        "ring_all",
        20.0,
        [{"user_id": a1, "penalty": 1}],
    )
    resp = api(client, csrf, "PUT", f"/api/v1/queues/{q['id']}", {"ring_timeout_s": 12})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["reloaded"] is True
    assert (body["queue"]["ring_timeout_s"], body["queue"]["strategy"]) == (12.0, "ring_all")
    assert body["queue"]["members"] == [{"user_id": a1, "penalty": 1}]
    resp = api(client, csrf, "PUT", f"/api/v1/queues/{q['id']}", {"members": []})
    assert resp.get_json()["queue"]["members"] == []
    listed = {x["id"] for x in api(client, csrf, "GET", "/api/v1/queues").get_json()["queues"]}
    assert q["id"] in listed
    assert api(client, csrf, "DELETE", f"/api/v1/queues/{q['id']}").status_code == 200
    assert api(client, csrf, "GET", f"/api/v1/queues/{q['id']}").status_code == 404
    assert reloads(redis_client) == [{"cmd": "acd.reload", "tenant_id": world.demo_tenant,
                                      "actor_id": users[ADMIN]}] * 4


def test_api_validation_lists_every_field(client, login, csrf, users, redis_client) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(
        client,
        csrf,
        "POST",
        "/api/v1/queues",
        {
            "name": "",
            "strategy": "fastest",
            "ring_timeout_s": -1,
            "recording": "sometimes",
            "max_waiting": 0,
            "moh_class": "a b",
            "members": [{"user_id": users[ACME_ADMIN], "penalty": 0}],
        },
    )
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert "field 'name': 1–64 letters" in err["message"]  # every error in the message too
    assert errors_of(resp) == {
        "name": "1–64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "strategy": "must be one of linear, random, round_robin, ring_all, longest_idle, "
        "fewest_calls",
        "ring_timeout_s": "must be greater than 0",
        "recording": "must be one of always, never, on_demand",
        "max_waiting": "must be at least 1 (or empty for no limit)",
        "moh_class": "1–80 letters, digits, '_' or '-'",
        f"members.{users[ACME_ADMIN]}": "no such user in this tenant",
    }
    assert reloads(redis_client) == []


def test_api_wrong_json_types_are_400_naming_each_field(  # type: ignore[no-untyped-def]
    client, login, csrf, users, redis_client
) -> None:
    """Shape before values: a string for a number, a fraction for a whole number, an id out
    of range or an unknown field is refused by the schema, every one named."""
    login(ADMIN)
    resp = api(
        client,
        csrf,
        "POST",
        "/api/v1/queues",
        {
            "name": ["sales"],
            "max_wait_s": "abc",
            "serve_order": 1.5,
            "overflow_queue_id": 2**63,
            "members": [{"user_id": users[AGENT1]}, {"user_id": "x"}],
            "colour": "red",
        },
    )
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["id"] == "invalid"
    problems = {e["field"]: e["message"] for e in err["details"]["errors"]}
    assert problems == {
        "name": "must be a string, got a list",
        "max_wait_s": "must be a number, got a string",
        "serve_order": "must be a whole number, got a number",
        "overflow_queue_id": "must be less than or equal to 2147483647",
        "members[1].user_id": "must be a whole number, got a string",
        "colour": "unknown field (allowed: " + ", ".join(QueueBody.model_fields) + ")",
    }
    pointers = {e["field"]: e["pointer"] for e in err["details"]["errors"]}
    assert pointers["members[1].user_id"] == "/members/1/user_id"
    assert reloads(redis_client) == []
    assert reloads(redis_client) == []


def test_duplicate_name_is_a_name_error(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    q = make_queue(client, csrf)
    resp = api(client, csrf, "POST", "/api/v1/queues", {"name": q["name"]})
    assert errors_of(resp) == {"name": f"a queue named {q['name']!r} already exists"}


def test_deleting_an_overflow_target_clears_the_reference(  # type: ignore[no-untyped-def]
    client, login, csrf, store
) -> None:
    login(ADMIN)
    target = make_queue(client, csrf)
    source = make_queue(client, csrf, overflow_queue_id=target["id"], max_wait_s=60)
    resp = client.post(f"/queues/{target['id']}/delete", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    with store() as s:
        assert s.get(Queue, target["id"]) is None
        src = s.get(Queue, source["id"])
        assert src is not None and src.overflow_queue_id is None


def test_other_tenant_queues_are_not_found(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, store, redis_client
) -> None:
    login(ADMIN)
    q = make_queue(client, csrf)
    redis_client.delete(COMMANDS_STREAM)
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        assert acme.get(f"/queues/{q['id']}").status_code == 404
        assert api(acme, csrf, "GET", f"/api/v1/queues/{q['id']}").status_code == 404
        assert api(acme, csrf, "PUT", f"/api/v1/queues/{q['id']}", {"name": "x"}).status_code == 404
        assert api(acme, csrf, "DELETE", f"/api/v1/queues/{q['id']}").status_code == 404
        resp = acme.post(f"/queues/{q['id']}/delete", data={"csrf_token": csrf(acme)})
        assert resp.status_code == 404
        names = {x["name"] for x in api(acme, csrf, "GET", "/api/v1/queues").get_json()["queues"]}
        assert q["name"] not in names
    with store() as s:
        assert s.get(Queue, q["id"]).name == q["name"]
    assert reloads(redis_client) == []


@pytest.mark.parametrize(("who", "status"), [(SUPERVISOR, 403), (AGENT1, 403)])
def test_only_admins_configure(client, login, csrf, who, status) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert client.get("/queues").status_code == status
    assert client.get("/queues/breaks").status_code == status
    assert api(client, csrf, "POST", "/api/v1/queues", {"name": unique("q")}).status_code == status


def test_break_reasons_create_validate_delete(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, store, world, redis_client, users
) -> None:
    login(ADMIN)
    code = str(uuid.uuid4().int % 10**6 + 10**6)  # 7 digits, unique per run
    resp = client.post(
        "/queues/breaks",
        data={"csrf_token": csrf(client), "code": code, "label": "Training", "kind": "approval"},
    )
    assert resp.status_code == 302
    page = client.get("/queues/breaks").get_data(as_text=True)
    assert f"break reason {code} added" in page and "<td>Training</td>" in page
    assert reloads(redis_client) == [{"cmd": "acd.reload", "tenant_id": world.demo_tenant,
                                      "actor_id": users[ADMIN]}]

    for data, field in (
        ({"code": "12ab"}, "code"),
        ({"code": code}, "code"),  # duplicate
        ({"code": "123456789"}, "code"),  # a desk phone dials at most 8 digits
        ({"code": "81", "kind": "conditional"}, "max_on_break"),
        ({"code": "81", "kind": "free", "max_on_break": "2"}, "max_on_break"),
        ({"code": "81", "kind": "sometimes"}, "kind"),
    ):
        resp = client.post("/queues/breaks", data={"csrf_token": csrf(client), **data})
        assert resp.status_code == 422, data
        assert f'data-error-for="{field}"' in resp.get_data(as_text=True), data
    resp = api(
        client,
        csrf,
        "POST",
        "/api/v1/break-reasons",
        {"code": "82", "kind": "conditional", "max_on_break": 0},
    )
    assert errors_of(resp).keys() == {"max_on_break"}

    with store() as s:
        row = s.scalar(
            select(AgentBreakReason).where(
                AgentBreakReason.tenant_id == world.demo_tenant, AgentBreakReason.code == code
            )
        )
        assert row is not None and row.kind == "approval"
        break_id = row.id
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        assert api(acme, csrf, "DELETE", f"/api/v1/break-reasons/{break_id}").status_code == 404
        codes = {b["code"] for b in acme.get("/api/v1/break-reasons").get_json()["break_reasons"]}
        assert code not in codes
    resp = client.post(f"/queues/breaks/{break_id}/delete", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    with store() as s:
        assert s.get(AgentBreakReason, break_id) is None
    assert len(reloads(redis_client)) == 2


def test_wallboard_shows_stats_and_members_per_state(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, store, users, world, redis_client
) -> None:
    login(ADMIN)
    a1, a2 = users[AGENT1], users[f"agent2@{DEMO_DOMAIN}"]
    q = make_queue(client, csrf, members=[{"user_id": a1}, {"user_id": a2}])
    stats = {
        "tenant_id": world.demo_tenant,
        "at": "2027-01-15T08:00:00+00:00",
        "window_s": 3600,
        "agents": {"ready": 1, "on_call": 1},
        "queues": [
            {
                "queue_id": str(q["id"]),
                "name": q["name"],
                "waiting": 3,
                "longest_wait_s": 75.2,
                "answered": 10,
                "abandoned": 2,
                "service_level_pct": 80.0,
                "abandon_rate_pct": 16.7,
                "overflowed": 1,
                "avg_speed_of_answer_s": 9.5,
            }
        ],
    }
    redis_client.set(f"centrala:acd:{world.demo_tenant}:stats", json.dumps(stats))
    agents = f"centrala:acd:{world.demo_tenant}:agents"
    redis_client.hset(agents, str(a1), json.dumps({"status": "on_call"}))
    # another tenant's figures, even mislabelled, never reach this tenant
    redis_client.set(
        f"centrala:acd:{world.acme_tenant}:stats",
        json.dumps({**stats, "queues": [{**stats["queues"][0], "waiting": 99}]}),
    )

    client.post("/logout", data={"csrf_token": csrf(client)})
    login(SUPERVISOR)
    board = client.get("/api/v1/queues/stats").get_json()
    row = next(r for r in board["queues"] if r["queue_id"] == q["id"])
    assert (row["waiting"], row["longest_wait_s"], row["service_level_pct"], row["abandoned"]) == (
        3,
        75.2,
        80.0,
        2,
    )
    assert row["agents"]["on_call"] == 1 and row["agents"]["logged_out"] == 1
    page = client.get("/queues/wallboard").get_data(as_text=True)
    tr = page.split(f'data-queue-id="{q["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert '"waiting">3<' in tr and "1:15" in tr and "80.0%" in tr
    assert "as of 2027-01-15 08:00:00 UTC" in page

    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        theirs = acme.get("/api/v1/queues/stats").get_json()
        assert q["id"] not in {r["queue_id"] for r in theirs["queues"]}
    with app.test_client() as agent:
        assert login_form(agent, AGENT1).status_code == 302
        assert agent.get("/queues/wallboard").status_code == 403
        assert agent.get("/api/v1/queues/stats").status_code == 403
