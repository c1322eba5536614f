"""Campaigns in the panel: agents' preview batches, calls, skips and dispositions;
supervisors' campaigns list, start/pause and attempts log; admins' disposition CRUD.

Preview commands run the real path: panel → ``centrala:commands`` on the real Redis → the
daemon's command reader (``controlplane.daemon._commands``) → a real ``PreviewDialer`` and
``CallService`` on the session's SQLite, in a thread with its own event loop; ARI is a
recorder, so "call" is checked to ring the agent's own phone with the right arguments.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from controlplane import daemon
from controlplane.calls.service import CallService
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.dialer.preview import PreviewDialer
from controlplane.models import Role, Tenant, User
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
)
from controlplane.security.command_guard import CommandGuard
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
_names = itertools.count()


@dataclass(frozen=True)
class Camp:
    id: int
    records: list[int]
    users: dict[str, int]


@pytest.fixture
def camp(settings, world) -> Camp:  # type: ignore[no-untyped-def]
    """A running preview campaign of the demo tenant with 3 records, and its dispositions."""
    engine = make_engine(settings.database_url)
    n = next(_names)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            c = Campaign(tenant_id=world.demo_tenant, name=f"web-pv-{n}-{time.time_ns()}",
                         mode="preview", status="running", caller_id_mode="fixed",
                         fixed_caller_id="+48221000099", window_start=dtime(0, 0),
                         window_end=dtime(23, 59, 59), window_days=[1, 2, 3, 4, 5, 6, 7],
                         preview_batch_size=2)
            s.add(c)
            s.flush()
            records = []
            for i in range(3):
                contact = Contact(tenant_id=world.demo_tenant, first_name=f"W{n}-{i}")
                s.add(contact)
                s.flush()
                phone = ContactPhone(tenant_id=world.demo_tenant, contact_id=contact.id,
                                     number=f"+100{n % 1000:03d}{i}")
                s.add(phone)
                s.flush()
                rec = CampaignRecord(tenant_id=world.demo_tenant, campaign_id=c.id,
                                     contact_id=contact.id, phone_id=phone.id, outcome_counts={})
                s.add(rec)
                s.flush()
                records.append(rec.id)
            s.add_all([Disposition(tenant_id=world.demo_tenant, campaign_id=c.id, code="sale",
                                   label="Sale", success=True),
                       Disposition(tenant_id=world.demo_tenant, campaign_id=c.id, code="cb",
                                   action="recontact")])
            users = {f"{lg}@{d}": uid for lg, d, uid in
                     s.execute(select(User.login, Tenant.domain, User.id).join(Tenant)).all()}
            return Camp(c.id, records, users)
    finally:
        engine.dispose()


def attempt(settings, camp: Camp, user: str, outcome: str | None = "human",  # type: ignore[no-untyped-def]
            record: int = 0) -> int:
    """A compliance row of ``user`` on the campaign's record (done when it reached a person)."""
    engine = make_engine(settings.database_url)
    at = datetime.now(UTC) - timedelta(minutes=1)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            rec = s.get(CampaignRecord, camp.records[record])
            rec.state = "done" if outcome == "human" else "in_progress"
            a = DialAttempt(tenant_id=rec.tenant_id, campaign_id=camp.id, record_id=rec.id,
                            number="+1000001", agent_user_id=camp.users[user], mode="preview",
                            dial_at=at, ended_at=at if outcome else None, outcome=outcome)
            s.add(a)
            s.flush()
            return a.id
    finally:
        engine.dispose()


class RecordingAri:
    app = "centrala-test"

    def __init__(self) -> None:
        self.originated: list[dict[str, Any]] = []

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        if path == "/channels":
            self.originated.append(params)
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        return {}


class Daemon:
    """The daemon's command reader with a real PreviewDialer, in a thread of its own."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.settings, self.ari = settings, RecordingAri()
        self.ready, self.error = threading.Event(), None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # noqa: BLE001 - reported to the test
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        engine = make_engine(self.settings.database_url)
        rds = aioredis.Redis.from_url(self.settings.redis_url)
        try:
            calls = CallService(self.settings, self.ari, make_sessionmaker(engine), rds)  # type: ignore[arg-type]
            preview = PreviewDialer(make_sessionmaker(engine), calls)
            reader = asyncio.create_task(daemon._commands(  # type: ignore[arg-type]
                rds, None, None, calls, preview, guard=CommandGuard(make_sessionmaker(engine))))
            deadline = time.monotonic() + 10
            while not any(c.get("cmd") == "xread" for c in await rds.client_list()):
                assert not reader.done() and time.monotonic() < deadline, "reader not started"
                await asyncio.sleep(0.02)
            self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
            self.ready.set()
            await self.stop.wait()
            await stop_reader(reader)
        finally:
            await rds.aclose()
            engine.dispose()


async def stop_reader(reader: asyncio.Task[None]) -> None:
    """Cancel the command reader until it ends: redis-py may turn a cancel that lands in
    XREAD into a connection error, which the reader logs and carries on after."""
    while not reader.done():
        reader.cancel()
        await asyncio.wait([reader], timeout=0.5)


@pytest.fixture
def preview_daemon(settings, redis_client) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    d = Daemon(settings)
    d.thread.start()
    assert d.ready.wait(20), "daemon did not start"
    if d.error is not None:
        raise d.error
    yield d
    if d.loop is not None and d.stop is not None:
        d.loop.call_soon_threadsafe(d.stop.set)
    d.thread.join(30)
    assert not d.thread.is_alive(), "the daemon thread did not stop"


def post(client, csrf, path: str, body: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf(client)})


def test_roles_of_campaign_views(app) -> None:  # type: ignore[no-untyped-def]
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    everyone = set(Role)
    for e in ("campaigns.mine", "campaigns.page_batch", "campaigns.page_record",
              "campaigns.page_dispose", "campaigns_api.my_preview", "campaigns_api.batch",
              "campaigns_api.dial", "campaigns_api.skip", "campaigns_api.pending",
              "campaigns_api.disposition", "campaigns_api.dispositions"):
        assert roles[e] == everyone, e
    for e in ("campaigns.index", "campaigns.page_status", "campaigns.attempts",
              "campaigns_api.campaigns", "campaigns_api.status", "campaigns_api.attempts"):
        assert roles[e] == {Role.ADMIN, Role.SUPERVISOR}, e
    for e in ("campaigns_api.create_disposition", "campaigns_api.update_disposition",
              "campaigns_api.delete_disposition"):
        assert roles[e] == {Role.ADMIN}, e


def test_agent_gets_a_batch_calls_and_skips_through_the_daemon(  # type: ignore[no-untyped-def]
        client, login, csrf, camp, preview_daemon, world) -> None:
    login(AGENT1)
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/batch")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    batch = [r["record_id"] for r in resp.get_json()["records"]]
    number = resp.get_json()["records"][0]["number"]
    assert batch == camp.records[:2]  # preview_batch_size 2
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/{batch[0]}/dial")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    reply = resp.get_json()
    leg = preview_daemon.ari.originated[-1]
    assert (leg["endpoint"], leg["channelId"], leg["appArgs"], leg["callerId"]) == (
        f"PJSIP/{world.agent1_endpoint}", reply["call_id"], f"outbound,{number[1:]}",
        f'"{number}" <+48221000099>')
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/{batch[1]}/skip")
    assert resp.get_json() == {"ok": True, "record_id": batch[1], "state": "scheduled"}
    mine = client.get("/api/v1/campaigns/preview").get_json()["campaigns"]
    this = next(c for c in mine if c["id"] == camp.id)
    assert [(r["record_id"], r["status"]) for r in this["batch"]] == [(batch[0], "dialling")]
    page = client.get("/campaigns/mine").get_data(as_text=True)
    assert f'id="record-{batch[0]}"' in page and "dialling" in page

    login(AGENT2)  # another agent: not their record, and a batch of their own
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/{batch[0]}/skip")
    assert resp.status_code == 409 and resp.get_json()["error"]["details"]["code"] == "in_progress"
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/batch")
    assert [r["record_id"] for r in resp.get_json()["records"]] == [camp.records[2]]
    resp = client.post(f"/campaigns/{camp.id}/preview/{camp.records[2]}/skip",
                       data={"csrf_token": csrf(client)}, follow_redirects=True)
    assert f"record #{camp.records[2]} skipped" in resp.get_data(as_text=True)

    login(ACME_ADMIN)  # another tenant: not found
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/batch")
    assert resp.status_code == 404


def test_control_plane_down_is_a_clear_503(app, client, login, csrf, camp) -> None:  # type: ignore[no-untyped-def]
    app.config["ACD_COMMAND_TIMEOUT_S"] = 0.3
    login(AGENT1)
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/preview/batch")
    assert resp.status_code == 503
    assert resp.get_json()["error"]["id"] == "controlplane_not_answering"


def test_dispositions_through_the_api_and_the_page(client, login, csrf, camp, settings) -> None:  # type: ignore[no-untyped-def]
    done = attempt(settings, camp, AGENT1)
    login(AGENT1)
    pending = client.get("/api/v1/attempts/pending").get_json()["attempts"]
    mine = next(p for p in pending if p["attempt_id"] == done)
    assert {d["code"] for d in mine["dispositions"]} == {"sale", "cb"}
    path = f"/api/v1/attempts/{done}/disposition"
    for body, parameter in (({"code": "nope"}, "code"), ({"code": "cb"}, "recontact_at"),
                            ({"code": "cb", "recontact_at": "2020-01-01T10:00:00+00:00"},
                             "recontact_at"),
                            ({"code": "cb", "recontact_at": "tomorrow"}, "recontact_at")):
        resp = post(client, csrf, path, body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["details"]["parameter"] == parameter, body
    login(AGENT2)
    assert post(client, csrf, path, {"code": "sale"}).status_code == 403
    login(ACME_ADMIN)
    assert post(client, csrf, path, {"code": "sale"}).status_code == 404
    login(AGENT1)
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    resp = post(client, csrf, path, {"code": "cb", "recontact_at": due.isoformat(), "note": "hi"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    out = resp.get_json()
    assert (out["record_state"], out["due_at"]) == ("scheduled", due.isoformat())
    assert post(client, csrf, path, {"code": "sale"}).status_code == 409  # disposed already
    assert all(p["attempt_id"] != done for p in
               client.get("/api/v1/attempts/pending").get_json()["attempts"])
    busy = attempt(settings, camp, AGENT1, outcome=None, record=1)
    resp = post(client, csrf, f"/api/v1/attempts/{busy}/disposition", {"code": "sale"})
    assert resp.status_code == 409 and "in progress" in resp.get_json()["error"]["message"]
    # the page: the form lists the codes, and a form post disposes
    other = attempt(settings, camp, AGENT1, record=2)
    page = client.get("/campaigns/mine").get_data(as_text=True)
    assert f'id="attempt-{other}"' in page and 'value="sale"' in page
    resp = client.post(f"/attempts/{other}/disposition",
                       data={"csrf_token": csrf(client), "code": "sale", "recontact_at": ""},
                       follow_redirects=True)
    assert f"attempt #{other}: sale" in resp.get_data(as_text=True)


def test_supervisor_lists_starts_pauses_and_reads_the_log(  # type: ignore[no-untyped-def]
        client, login, csrf, camp, settings) -> None:
    made = [attempt(settings, camp, AGENT1, record=i) for i in range(3)]
    login(AGENT1)
    assert client.get("/campaigns").status_code == 403
    assert client.get("/api/v1/campaigns").status_code == 403
    login(SUPERVISOR)
    found = next(c for c in client.get("/api/v1/campaigns").get_json()["campaigns"]
                 if c["id"] == camp.id)
    assert found["status"] == "running" and found["counts"]["done"] == 3
    assert f'id="campaign-{camp.id}"' in client.get("/campaigns").get_data(as_text=True)
    resp = client.post(f"/campaigns/{camp.id}/status",
                       data={"csrf_token": csrf(client), "status": "paused"}, follow_redirects=True)
    assert "paused" in resp.get_data(as_text=True)
    resp = post(client, csrf, f"/api/v1/campaigns/{camp.id}/status", {"status": "finished"})
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "status"
    assert post(client, csrf, f"/api/v1/campaigns/{camp.id}/status",
                {"status": "running"}).get_json()["status"] == "running"
    log = client.get(f"/api/v1/campaigns/{camp.id}/attempts?per_page=2").get_json()
    assert (log["total"], log["pages"]) == (3, 2)
    assert [a["id"] for a in log["attempts"]] == [made[2], made[1]]  # newest first
    log2 = client.get(f"/api/v1/campaigns/{camp.id}/attempts?per_page=2&page=2").get_json()
    assert [a["id"] for a in log2["attempts"]] == [made[0]]
    page = client.get(f"/campaigns/{camp.id}/attempts").get_data(as_text=True)
    assert all(f'id="attempt-{a}"' in page for a in made)
    assert client.get(f"/api/v1/campaigns/{camp.id}/attempts?page=x").status_code == 400
    login(ACME_ADMIN)
    assert client.get(f"/api/v1/campaigns/{camp.id}/attempts").status_code == 404


def test_admin_changes_dispositions_with_validation(client, login, csrf, camp) -> None:  # type: ignore[no-untyped-def]
    base = f"/api/v1/campaigns/{camp.id}/dispositions"
    login(SUPERVISOR)
    assert post(client, csrf, base, {"code": "x"}).status_code == 403
    login(ADMIN)
    resp = post(client, csrf, base, {"code": "later", "action": "recontact",
                                     "action_delay_s": 3600, "label": "Later"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    made = resp.get_json()
    for body, parameter in (({"code": "bad code"}, "code"),
                            ({"code": "m", "action": "move"}, "action_campaign_id"),
                            ({"code": "d", "action": "close", "action_delay_s": 5},
                             "action_delay_s")):
        resp = post(client, csrf, base, body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["details"]["parameter"] == parameter
    assert post(client, csrf, base, {"code": "sale"}).status_code == 409  # exists
    resp = client.put(f"{base}/{made['id']}", json={"label": "Call later"},
                      headers={"X-CSRF-Token": csrf(client)})
    assert resp.get_json()["label"] == "Call later"
    codes = [d["code"] for d in client.get(base).get_json()["dispositions"]]
    assert {"cb", "later", "sale"} <= set(codes)
    resp = client.delete(f"{base}/{made['id']}", headers={"X-CSRF-Token": csrf(client)})
    assert resp.get_json() == {"deleted": made["id"]}
    assert client.delete(f"{base}/{made['id']}",
                         headers={"X-CSRF-Token": csrf(client)}).status_code == 404
