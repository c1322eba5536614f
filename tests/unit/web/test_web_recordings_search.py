"""The recordings app: search (dates in the tenant's zone, number national or E.164, agent,
queue, campaign, disposition, duration, tag), the page, and play with seek (HTTP Range)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import CallRecord, Tenant, User
from controlplane.models.campaigns import Campaign, CampaignRecord, DialAttempt, Disposition
from controlplane.models.contacts import Contact, ContactPhone
from controlplane.models.recording_tags import RecordingTag, RecordingTagLink
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"
SZEF = "szef@polska.example"
DAY = datetime(2032, 2, 10, 9, 0, tzinfo=UTC)  # far from the other tests' days
DAYS = {"from": "2032-02-10", "to": "2032-02-11"}


def _call(tenant: int, key: str, started: datetime, **kw: Any) -> CallRecord:
    fields: dict[str, Any] = {
        "call_id": f"rsearch-{key}", "tenant_id": tenant, "direction": "inbound",
        "status": "ended", "caller": "+48600100200", "callee": "1001", "did": "48221000009",
        "caller_channel": f"PJSIP/rs-{key}", "started_at": started,
        "ended_at": started + timedelta(seconds=40), "duration_s": 40.0,
        "recording_path": f"rsearch-{key}.wav", "recording_duration_s": 35.0}
    fields.update(kw)
    return CallRecord(**fields)


@pytest.fixture
def calls(app: Flask, world: Any) -> Iterator[dict[str, int]]:
    """Demo: a (agent1, sales, campaign "rs-…" with disposition sale, tag vip, 35 s),
    b (agent2, support, national caller 500600700, 200 s), c (agent1, no recording);
    Polska (Europe/Warsaw): p at 23:30 UTC on 2032-02-10, that is the 11th in Warsaw."""
    factory = app.extensions["centrala"].sessions
    demo = world.demo_tenant
    with transaction(factory) as s:
        polska = s.scalar(select(Tenant.id).where(Tenant.domain == "polska.example"))
        rows = {
            "a": _call(demo, "a", DAY, queue="sales", agent_endpoint=world.agent1_endpoint),
            "b": _call(demo, "b", DAY + timedelta(hours=2), queue="support", caller="500600700",
                       agent_endpoint=world.agent2_endpoint, recording_duration_s=200.0),
            "c": _call(demo, "c", DAY + timedelta(hours=3), queue="sales",
                       agent_endpoint=world.agent1_endpoint, recording_path=None),
            "p": _call(polska, "p", datetime(2032, 2, 10, 23, 30, tzinfo=UTC)),
        }
        s.add_all(rows.values())
        campaign = Campaign(tenant_id=demo, name=f"rs-{uuid.uuid4().hex[:6]}")
        contact = Contact(tenant_id=demo, first_name="Rs")
        s.add_all([campaign, contact])
        s.flush()
        # a number of this test's own: other tests keep contacts with the usual ones
        phone = ContactPhone(tenant_id=demo, contact_id=contact.id, number="+48600177031")
        s.add(phone)
        s.flush()
        crec = CampaignRecord(tenant_id=demo, campaign_id=campaign.id, contact_id=contact.id,
                              phone_id=phone.id, outcome_counts={})
        s.add(crec)
        s.flush()
        s.add_all([
            DialAttempt(tenant_id=demo, campaign_id=campaign.id, record_id=crec.id,
                        call_id="rsearch-a", number="+48600177031", mode="preview",
                        dial_at=DAY, disposition_code="sale"),
            Disposition(tenant_id=demo, campaign_id=campaign.id, code="sale", label="Sold"),
        ])
        tag = RecordingTag(tenant_id=demo, name=f"vip-{uuid.uuid4().hex[:4]}")
        s.add(tag)
        s.flush()
        s.add(RecordingTagLink(record_id=rows["a"].id, tag_id=tag.id))
        ids = {k: r.id for k, r in rows.items()}
        ids["campaign"], ids["tag"] = campaign.id, tag.id
        tag_name, campaign_id, crec_id, contact_id = tag.name, campaign.id, crec.id, contact.id
    yield ids | {"tag_name": tag_name}  # type: ignore[dict-item]
    with transaction(factory) as s:
        s.execute(delete(DialAttempt).where(DialAttempt.call_id == "rsearch-a"))
        s.execute(delete(Disposition).where(Disposition.campaign_id == campaign_id))
        s.execute(delete(CampaignRecord).where(CampaignRecord.id == crec_id))
        s.execute(delete(Campaign).where(Campaign.id == campaign_id))
        s.execute(delete(Contact).where(Contact.id == contact_id))
        s.execute(delete(RecordingTag).where(RecordingTag.name == tag_name))
        s.execute(delete(CallRecord).where(CallRecord.call_id.like("rsearch-%")))


def found(client: Any, **params: Any) -> list[int]:
    resp = client.get("/api/v1/recordings", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return [r["id"] for r in resp.get_json()["recordings"]]


def test_search_by_every_filter(client: Any, login: Any, app: Flask, world: Any,
                                calls: dict[str, int]) -> None:
    login(ADMIN)
    a, b = calls["a"], calls["b"]
    assert found(client, **DAYS) == [b, a]  # c has no recording; p is another tenant's
    assert found(client, **DAYS, queue="support") == [b]
    with app.extensions["centrala"].sessions() as s:
        agent2 = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                                User.login == "agent2"))
    assert found(client, **DAYS, agent=agent2) == [b]
    assert found(client, **DAYS, campaign=calls["campaign"]) == [a]
    assert found(client, **DAYS, disposition="sale") == [a]
    assert found(client, **DAYS, min_duration=100) == [b]
    assert found(client, **DAYS, max_duration=100) == [a]
    assert found(client, **DAYS, tag=calls["tag_name"]) == [a]
    assert found(client, **DAYS, tag="no-such-tag") == []
    # a number as typed nationally finds the E.164 record, and E.164 the national one
    assert found(client, **DAYS, number="600 100 200") == [a]
    assert found(client, **DAYS, number="+48 500 600 700") == [b]
    assert found(client, **DAYS, number="0700") == [b]  # part of a number still works
    body = client.get("/api/v1/recordings", query_string={**DAYS, "tag": calls["tag_name"]})
    item = body.get_json()["recordings"][0]
    assert (item["campaign"] is not None, item["disposition"], item["tags"]) == (
        True, "Sold", [calls["tag_name"]])


def test_search_refuses_bad_ranges(client: Any, login: Any, calls: dict[str, int]) -> None:
    login(ADMIN)
    resp = client.get("/api/v1/recordings", query_string={"min_duration": 9, "max_duration": 3})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["parameter"] == "max_duration"
    assert client.get("/api/v1/recordings", query_string={"campaign": "x"}).status_code == 400
    assert client.get("/recordings", query_string={"min_duration": -1}).status_code == 400


def test_days_are_the_tenants(client: Any, login: Any, calls: dict[str, int]) -> None:
    """23:30 UTC on the 10th is 00:30 on the 11th in Warsaw (CET): the tenant's day finds it."""
    login(SZEF)
    assert found(client, **{"from": "2032-02-11", "to": "2032-02-11"}) == [calls["p"]]
    assert found(client, **{"from": "2032-02-10", "to": "2032-02-10"}) == []


def test_agent_sees_only_own_calls(client: Any, login: Any, calls: dict[str, int]) -> None:
    login(AGENT1)
    assert found(client, **DAYS) == [calls["a"]]
    page = client.get("/recordings", query_string=DAYS)
    assert page.status_code == 200
    assert f'id="rec-{calls["a"]}"' in page.text and f'id="rec-{calls["b"]}"' not in page.text
    assert client.get(f"/api/v1/recordings/{calls['b']}").status_code == 404


def test_page_lists_with_player_and_labels(client: Any, login: Any,
                                           calls: dict[str, int]) -> None:
    login(ADMIN)
    page = client.get("/recordings", query_string={**DAYS, "tag": calls["tag_name"]})
    assert page.status_code == 200
    assert "<audio controls preload=\"none\"" in page.text
    assert "Sold" in page.text and calls["tag_name"] in page.text
    assert "Inbound" in page.text  # the direction's label, not its value


def test_page_in_polish(client: Any, login: Any, calls: dict[str, int]) -> None:
    login(SZEF)
    page = client.get("/recordings")
    assert page.status_code == 200
    assert "Nagrania" in page.text


@pytest.mark.parametrize("path", ["/api/v1/recordings/{id}/audio", "/calls/records/{id}/recording"])
def test_range_request_gets_partial_content(client: Any, login: Any, world: Any,
                                            path: str) -> None:
    """Seeking in the player: ``Range`` gets 206 with ``Content-Range`` and just those bytes."""
    login(ADMIN)
    url = path.format(id=world.demo_recording)
    whole = world.demo_recording_bytes
    with client.get(url, headers={"Range": "bytes=100-199"}) as resp:
        assert resp.status_code == 206
        assert resp.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.data == whole[100:200]
    with client.get(url, headers={"Range": "bytes=-10"}) as tail:
        assert (tail.status_code, tail.data) == (206, whole[-10:])
    with client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"}) as beyond:
        assert beyond.status_code == 416


def test_range_is_tenant_scoped(client: Any, login: Any, world: Any) -> None:
    login("boss@acme.example")
    resp = client.get(f"/api/v1/recordings/{world.demo_recording}/audio",
                      headers={"Range": "bytes=0-9"})
    assert resp.status_code == 404
