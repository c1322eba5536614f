"""The agent desktop: the current interaction card (API and SSE), wrap-ups, dispositions and
the screen pop, with the real SQLite and Redis of the panel's fixtures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from controlplane.bus import EVENTS_STREAM, IVR_POSITION_KEY, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.db import transaction
from controlplane.desktop import screen_pop
from controlplane.desktop.exceptions import InvalidField
from controlplane.desktop.interaction import national
from controlplane.models import CallRecord, Contact, ContactPhone, User
from controlplane.models.desktop import CallDisposition, CallWrapup, DesktopSettings
from controlplane.models.supervision import SupervisionSession
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"
ACME_AGENT = "bob@acme.example"
CALLER = "+48221234567"


@pytest.fixture
def desk(app, world) -> Iterator[dict[str, object]]:
    """A contact with the caller's number, a call record in a queue and two dispositions of
    the demo tenant; all removed afterwards."""
    factory = app.extensions["centrala"].sessions
    call_id = "desk-" + uuid.uuid4().hex[:10]
    started = datetime.now(UTC) - timedelta(seconds=30)
    with transaction(factory) as s:
        contact = Contact(tenant_id=world.demo_tenant, first_name="Jan", last_name="Kowalski")
        s.add(contact)
        s.flush()
        s.add(ContactPhone(tenant_id=world.demo_tenant, contact_id=contact.id, number=CALLER,
                           kind="fixed", country="PL"))
        old = CallRecord(call_id=call_id + "-old", tenant_id=world.demo_tenant,
                         direction="inbound", status="ended", phase="ended", caller=CALLER,
                         callee="48221000001", caller_channel="x",
                         started_at=started - timedelta(days=2),
                         ended_at=started - timedelta(days=2) + timedelta(minutes=3))
        rec = CallRecord(call_id=call_id, tenant_id=world.demo_tenant, direction="inbound",
                         status="active", phase="talking", queue="Sprzedaż", caller=CALLER,
                         callee="48221000001", did="48221000001", caller_channel="y",
                         agent_endpoint=world.agent1_endpoint, started_at=started)
        s.add_all([old, rec])
        s.add_all([CallDisposition(tenant_id=world.demo_tenant, code="sold", label="Sprzedane"),
                   CallDisposition(tenant_id=world.demo_tenant, code="info", label="Informacja",
                                   position=1)])
        s.flush()
        contact_id = contact.id
    yield {"call_id": call_id, "contact_id": contact_id, "started": started}
    with transaction(factory) as s:
        s.execute(delete(CallWrapup).where(CallWrapup.call_id.like("desk-%")))
        s.execute(delete(CallRecord).where(CallRecord.call_id.like(call_id + "%")))
        s.execute(delete(Contact).where(Contact.id == contact_id))
        s.execute(delete(CallDisposition).where(CallDisposition.tenant_id == world.demo_tenant))
        s.execute(delete(DesktopSettings))


def put_live(r, call_id: str, tenant: int, endpoint: str, *, started: datetime,
             answered: bool = True) -> None:
    call = LiveCall(call_id=call_id, tenant_id=tenant, direction="inbound",
                    state="talking" if answered else "queued", caller=CALLER,
                    callee="48221000001", did="48221000001", agent_endpoint=endpoint,
                    started_at=started.isoformat(),
                    answered_at=(started + timedelta(seconds=12)).isoformat() if answered
                    else None)
    r.hset(LIVE_CALLS_KEY, call_id, call.to_json())


def interaction(client) -> dict:
    resp = client.get("/api/v1/agents/me/interaction")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def post_wrapup(client, csrf, call_id: str, body: dict):
    return client.post(f"/api/v1/calls/{call_id}/wrap-up", json=body,
                       headers={"X-CSRF-Token": csrf(client)})


# ---- the card ----

def test_no_call_no_card(client, login, desk):
    login(AGENT1)
    doc = interaction(client)
    assert doc["call"] is None
    assert doc["agent"]["status"]
    assert [d["code"] for d in doc["dispositions"]] == ["sold", "info"]


def test_card_shows_caller_contact_queue_wait_and_did(client, login, world, redis_client, desk):
    put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
             started=desk["started"])
    redis_client.set(IVR_POSITION_KEY.format(call_id=desk["call_id"]),
                     json.dumps({"frames": [{"variables": {"pesel": "123", "menu": "2"}}]}))
    login(AGENT1)
    call = interaction(client)["call"]
    assert call["call_id"] == desk["call_id"]
    assert call["status"] == "talking"
    assert call["number"] == CALLER and call["number_national"] == "22 123 45 67"
    assert call["did_national"] == "22 100 00 01"
    assert call["queue"] == "Sprzedaż"
    assert call["wait_s"] == 12.0
    assert call["contact"]["name"] == "Jan Kowalski"
    history = call["contact"]["history"]
    assert [h["kind"] for h in history] == ["call"]  # the older call, not this one
    assert call["ivr_variables"] == {"pesel": "123", "menu": "2"}
    assert call["screen_pop_url"] is None


def test_unknown_number_has_no_contact(client, login, world, redis_client, desk):
    call_id = desk["call_id"] + "-x"
    call = LiveCall(call_id, world.demo_tenant, "inbound", "queued", "+48600999888", "1",
                    None, world.agent1_endpoint, datetime.now(UTC).isoformat())
    redis_client.hset(LIVE_CALLS_KEY, call_id, call.to_json())
    login(AGENT1)
    got = interaction(client)["call"]
    assert got["status"] == "ringing" and got["contact"] is None
    assert got["number_national"] == "600 999 888"
    assert got["queue"] is None  # no call record yet


def test_agents_see_only_their_own_call(client, login, world, redis_client, desk):
    put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
             started=desk["started"])
    login(AGENT2)
    assert interaction(client)["call"] is None


def test_other_tenant_sees_nothing(client, login, world, redis_client, desk):
    put_live(redis_client, desk["call_id"], world.demo_tenant, "acme-2001",
             started=desk["started"])  # a forged endpoint name: the tenant still differs
    login(ACME_AGENT)
    assert interaction(client)["call"] is None


def test_stream_sends_the_card_then_the_call(client, login, world, redis_client, desk):
    login(AGENT1)
    resp = client.get("/agent/interaction/stream", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)

    def next_card() -> dict:
        for _ in range(40):
            text = next(chunks).decode()
            if text.startswith(":") or "event: card" not in text:
                continue
            return json.loads(text.split("data: ", 1)[1])
        raise AssertionError("no card event")

    try:
        assert next_card()["call"] is None
        put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
                 started=desk["started"])
        redis_client.xadd(EVENTS_STREAM, event_fields("call.talking", call_id=desk["call_id"]))
        card = next_card()
        assert card["call"]["number_national"] == "22 123 45 67"
        assert card["call"]["contact"]["name"] == "Jan Kowalski"
        redis_client.hdel(LIVE_CALLS_KEY, desk["call_id"])
        redis_client.xadd(EVENTS_STREAM, event_fields("call.ended", call_id=desk["call_id"]))
        assert next_card()["call"] is None
    finally:
        resp.close()


# ---- wrap-up ----

def test_wrap_up_stored_and_shown(app, client, login, csrf, world, redis_client, desk):
    login(AGENT1)
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "sold",
                                                       "note": "Chce ofertę\nna piśmie"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["wrapup"]["disposition"] == "sold"
    with app.extensions["centrala"].sessions() as s:
        row = s.scalar(select(CallWrapup).where(CallWrapup.call_id == desk["call_id"]))
        assert row is not None and row.note == "Chce ofertę\nna piśmie"
    # again: replaced, not doubled
    assert post_wrapup(client, csrf, desk["call_id"], {"disposition": "info"}).status_code == 200
    got = client.get(f"/api/v1/calls/{desk['call_id']}/wrap-up").get_json()
    assert got["wrapup"]["disposition"] == "info"
    # the card of the call carries it
    put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
             started=desk["started"])
    assert interaction(client)["call"]["wrapup"]["disposition"] == "info"


def test_wrap_up_refused_for_another_agents_call(client, login, csrf, desk):
    login(AGENT2)
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "sold"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["id"] == "not_your_call"


def test_wrap_up_of_another_tenant_is_not_found(client, login, csrf, desk):
    login(ACME_AGENT)
    assert post_wrapup(client, csrf, desk["call_id"], {"note": "x"}).status_code == 404
    assert post_wrapup(client, csrf, "no-such-call", {"note": "x"}).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"disposition": "nope"}, "disposition"),
    ({"recontact_at": "tomorrow"}, "recontact_at"),
    ({"recontact_at": "2001-01-01T10:00:00+00:00"}, "recontact_at"),
    ({}, "disposition"),
])
def test_wrap_up_bad_input_names_the_field(client, login, csrf, desk, body, field):
    login(AGENT1)
    resp = post_wrapup(client, csrf, desk["call_id"], body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["details"]["field"] == field


def test_wrap_up_schema_refuses_unknown_fields(client, login, csrf, desk):
    login(AGENT1)
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "sold", "x": 1})
    assert 400 <= resp.status_code < 500


def test_recontact_needs_a_campaign_record(client, login, csrf, desk):
    login(AGENT1)
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "sold",
                                                       "recontact_at": when})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["id"] == "no_campaign_record"


def test_only_admins_change_dispositions(client, login, csrf, desk):
    login(AGENT1)
    resp = client.post("/api/v1/call-dispositions", json={"code": "x"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 403


def test_admin_adds_and_retires_a_disposition(client, login, csrf, desk):
    login(ADMIN)
    resp = client.post("/api/v1/call-dispositions", json={"code": "callback", "label": "Oddzwonić"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 201
    assert "callback" in [d["code"] for d in resp.get_json()["dispositions"]]
    resp = client.delete("/api/v1/call-dispositions/callback",
                         headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 204
    codes = [d["code"] for d in client.get("/api/v1/call-dispositions").get_json()["dispositions"]]
    assert "callback" not in codes


# ---- screen pop ----

@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript://x/%0aalert(1)", "data:text/html,x", "/relative?{number}",
    "https://crm.example/?q={nope}", "https://crm.example/{0}", "https://{number}/x", "ftp://x/",
])
def test_unsafe_screen_pop_urls_are_refused(url):
    with pytest.raises(InvalidField):
        screen_pop.validate(url)


def test_screen_pop_fill_encodes_values():
    url = screen_pop.validate("https://crm.example/find?phone={number}&q={queue}&c={call_id}")
    assert url is not None
    assert screen_pop.fill(url, number="+48 22&x=1", call_id="a/b", queue=None) == (
        "https://crm.example/find?phone=%2B48%2022%26x%3D1&q=&c=a%2Fb")


def test_screen_pop_setting_api_and_card(client, login, csrf, world, redis_client, desk):
    login(ADMIN)
    bad = client.put("/api/v1/desktop/settings", json={"screen_pop_url": "javascript:alert(1)"},
                     headers={"X-CSRF-Token": csrf(client)})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "screen_pop_url"
    ok = client.put("/api/v1/desktop/settings",
                    json={"screen_pop_url": "https://crm.example/find?phone={number}",
                          "screen_pop_mode": "iframe"},
                    headers={"X-CSRF-Token": csrf(client)})
    assert ok.status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(AGENT1)
    put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
             started=desk["started"])
    doc = interaction(client)
    assert doc["screen_pop_mode"] == "iframe"
    assert doc["call"]["screen_pop_url"] == "https://crm.example/find?phone=%2B48221234567"
    page = client.get("/agent")
    assert "frame-src https://crm.example" in page.headers["Content-Security-Policy"]


def test_agents_are_told_of_supervision_when_the_tenant_wants(client, login, csrf, world,
                                                              redis_client, desk):
    """Off by default: the card says nothing. On: a connected session shows who supervises
    and how; a ringing or ended one shows nothing."""
    factory = client.application.extensions["centrala"].sessions
    with transaction(factory) as s:
        admin = s.scalar(select(User).where(User.login == "admin",
                                            User.tenant_id == world.demo_tenant))
        row = SupervisionSession(tenant_id=world.demo_tenant, supervisor_id=admin.id,
                                 call_id=desk["call_id"], phone="demo-1009", mode="whisper",
                                 state="active")
        s.add(row)
        s.flush()
        session_id = row.id
    try:
        put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
                 started=desk["started"])
        login(AGENT1)
        assert "supervised" not in interaction(client)["call"]  # the tenant did not ask
        client.post("/logout", data={"csrf_token": csrf(client)})
        login(ADMIN)
        ok = client.put("/api/v1/desktop/settings", json={"supervision_notice": True},
                        headers={"X-CSRF-Token": csrf(client)})
        assert ok.status_code == 200 and ok.get_json()["supervision_notice"] is True
        client.post("/logout", data={"csrf_token": csrf(client)})
        login(AGENT1)
        supervised = interaction(client)["call"]["supervised"]
        assert supervised["mode"] == "whisper" and supervised["by"]
        with transaction(factory) as s:
            s.get(SupervisionSession, session_id).state = "ended"
        assert interaction(client)["call"]["supervised"] is None
    finally:
        with transaction(factory) as s:
            s.execute(delete(SupervisionSession).where(SupervisionSession.id == session_id))


# ---- pages ----

def test_agent_page_has_the_card_in_polish(client, login, demo_in_polish, desk):
    login(AGENT1)
    page = client.get("/agent").get_data(as_text=True)
    assert 'id="desktop"' in page and 'data-stream="/agent/interaction/stream"' in page
    assert "Bieżąca rozmowa" in page
    assert "desktop.js" in page


def test_admin_desktop_page(client, login, csrf, demo_in_polish, desk):
    login(ADMIN)
    page = client.get("/admin/desktop")
    assert page.status_code == 200
    assert "Sprzedane" in page.get_data(as_text=True)
    assert "Informuj konsultantów, gdy przełożony słucha" in page.get_data(as_text=True)
    resp = client.post("/admin/desktop", data={"csrf_token": csrf(client),
                                               "screen_pop_url": "javascript:alert(1)",
                                               "screen_pop_mode": "tab"})
    assert resp.status_code == 422
    saved = client.post("/admin/desktop", data={"csrf_token": csrf(client), "screen_pop_url": "",
                                                "screen_pop_mode": "tab",
                                                "supervision_notice": "on"})
    assert saved.status_code == 302
    assert client.get("/api/v1/desktop/settings").get_json()["supervision_notice"] is True


def test_admin_desktop_page_is_for_admins(client, login, desk):
    login(AGENT1)
    assert client.get("/admin/desktop").status_code == 403


def test_national_format():
    assert national("+48221234567", "PL") == "22 123 45 67"
    assert national("48600100200", "PL") == "600 100 200"
    assert national("+4930123456", "PL").startswith("+49")
    assert national("1001", "PL") == "1001"


def test_wrap_up_shown_on_history_and_call_records(client, login, csrf, world, desk):
    login(AGENT1)
    assert post_wrapup(client, csrf, desk["call_id"], {"disposition": "sold",
                                                       "note": "Zadowolony"}).status_code == 200
    records = client.get("/api/v1/calls/records?number=221234567").get_json()["records"]
    mine = [r for r in records if r["call_id"] == desk["call_id"]]
    assert mine and mine[0]["disposition"] == "sold" and mine[0]["note"] == "Zadowolony"
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ADMIN)
    contact = client.get(f"/api/v1/contacts/{desk['contact_id']}/history").get_json()
    calls = [e for e in contact["history"] if e["kind"] == "call"
             and e.get("disposition") == "sold"]
    assert calls and calls[0]["disposition_label"] == "Sprzedane"
    assert calls[0]["note"] == "Zadowolony"
    page = client.get(f"/contacts/{desk['contact_id']}").get_data(as_text=True)
    assert "Sprzedane" in page and "Zadowolony" in page


def test_agent_creates_a_contact_for_the_unknown_caller(app, client, login, csrf, world,
                                                        redis_client, desk):
    call_id = desk["call_id"] + "-new"
    call = LiveCall(call_id, world.demo_tenant, "inbound", "talking", "+48600777666", "1",
                    None, world.agent1_endpoint, datetime.now(UTC).isoformat())
    redis_client.hset(LIVE_CALLS_KEY, call_id, call.to_json())
    login(AGENT1)
    bad = client.post("/api/v1/agents/me/interaction/contact",
                      json={"call_id": "someone-elses", "last_name": "Nowak"},
                      headers={"X-CSRF-Token": csrf(client)})
    assert bad.status_code == 404
    resp = client.post("/api/v1/agents/me/interaction/contact",
                       json={"call_id": call_id, "first_name": "Ewa", "last_name": "Nowak"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    try:
        assert interaction(client)["call"]["contact"]["name"] == "Ewa Nowak"
    finally:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.execute(delete(Contact).where(Contact.id == resp.get_json()["contact_id"]))


@pytest.fixture
def in_campaign(app, world, desk) -> Iterator[dict[str, int]]:
    """The desk contact in a campaign (one record, its phone the caller's number)."""
    from controlplane.models.campaigns import Campaign, CampaignRecord, DialAttempt
    from controlplane.models.campaigns import Disposition as CampaignDisposition

    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        campaign = Campaign(tenant_id=world.demo_tenant, name=f"dk-{uuid.uuid4().hex[:8]}")
        s.add(campaign)
        s.flush()
        phone = s.scalar(select(ContactPhone).where(ContactPhone.contact_id == desk["contact_id"]))
        record = CampaignRecord(tenant_id=world.demo_tenant, campaign_id=campaign.id,
                                contact_id=desk["contact_id"], phone_id=phone.id)
        s.add(record)
        s.add(CampaignDisposition(tenant_id=world.demo_tenant, campaign_id=campaign.id,
                                  code="deal", label="Umowa"))
        s.flush()
        ids = {"campaign": campaign.id, "record": record.id}
    yield ids
    with transaction(factory) as s:
        s.execute(delete(CallWrapup).where(CallWrapup.call_id.like("desk-%")))
        s.execute(delete(DialAttempt).where(DialAttempt.campaign_id == ids["campaign"]))
        s.execute(delete(Campaign).where(Campaign.id == ids["campaign"]))


def test_inbound_recontact_goes_on_the_callers_campaign_record(app, client, login, csrf,
                                                               world, desk, in_campaign):
    from controlplane.models.campaigns import CampaignRecord, Recontact

    login(AGENT1)
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "info", "note": "Oddzwonić",
                                                       "recontact_at": due.isoformat()})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    rc_id = resp.get_json()["wrapup"]["recontact_id"]
    with app.extensions["centrala"].sessions() as s:
        rc = s.get(Recontact, rc_id)
        assert rc.record_id == in_campaign["record"] and rc.due_at == due
        assert rc.note == "Oddzwonić" and rc.user_id is not None
        assert s.get(CampaignRecord, in_campaign["record"]).state == "scheduled"
    # a second one while the first is pending: refused (move or cancel it), nothing half-done
    again = post_wrapup(client, csrf, desk["call_id"], {"recontact_at": due.isoformat()})
    assert again.status_code == 409


def test_campaign_call_card_shows_the_record_and_its_dispositions(app, client, login, world,
                                                                  redis_client, desk,
                                                                  in_campaign):
    from controlplane.models.campaigns import DialAttempt

    with transaction(app.extensions["centrala"].sessions) as s:
        s.add(DialAttempt(tenant_id=world.demo_tenant, campaign_id=in_campaign["campaign"],
                          record_id=in_campaign["record"], call_id=desk["call_id"],
                          number=CALLER, mode="progressive", dial_at=desk["started"]))
    put_live(redis_client, desk["call_id"], world.demo_tenant, world.agent1_endpoint,
             started=desk["started"])
    login(AGENT1)
    doc = interaction(client)
    campaign = doc["call"]["campaign"]
    assert campaign["record_id"] == in_campaign["record"] and campaign["state"] == "fresh"
    assert [d["code"] for d in doc["dispositions"]] == ["deal"]


def test_campaign_call_wrap_up_disposes_the_attempt(app, client, login, csrf, world, desk,
                                                    in_campaign):
    from controlplane.models import User
    from controlplane.models.campaigns import DialAttempt

    with transaction(app.extensions["centrala"].sessions) as s:
        agent1 = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                                User.login == "agent1"))
        s.add(DialAttempt(tenant_id=world.demo_tenant, campaign_id=in_campaign["campaign"],
                          record_id=in_campaign["record"], call_id=desk["call_id"],
                          number=CALLER, mode="progressive", dial_at=desk["started"],
                          outcome="human", agent_user_id=agent1))
    login(AGENT1)
    assert post_wrapup(client, csrf, desk["call_id"], {"disposition": "info"}).status_code == 400
    resp = post_wrapup(client, csrf, desk["call_id"], {"disposition": "deal", "note": "ok"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.extensions["centrala"].sessions() as s:
        attempt = s.scalar(select(DialAttempt).where(DialAttempt.call_id == desk["call_id"]))
        assert attempt.disposition_code == "deal"


def test_stream_sends_nothing_for_other_tenants_calls(client, login, world, redis_client, desk):
    login(AGENT1)
    resp = client.get("/agent/interaction/stream", buffered=False)
    chunks = iter(resp.response)
    try:
        first = next(chunks).decode()
        assert "event: card" in first
        put_live(redis_client, "acme-" + desk["call_id"], world.acme_tenant, "acme-2001",
                 started=desk["started"])
        redis_client.xadd(EVENTS_STREAM, event_fields("call.talking", call_id="acme-x"))
        assert all(next(chunks).startswith(b":") for _ in range(3))  # keep-alives only
    finally:
        resp.close()
