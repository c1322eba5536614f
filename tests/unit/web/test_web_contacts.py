"""Contacts (miniCRM) pages and ``/api/v1/contacts``: list and search (names, e-mail, a
number typed nationally), create, read, update, delete, numbers already another contact's,
history across campaigns, merge with its log and audit; tenants kept apart, roles checked,
bad input a 4xx naming its field."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.campaigns import store as campaign_store
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import threads
from controlplane.models import (
    CallRecord,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
    HlrResult,
    Recontact,
)
from controlplane.models.chat import Chat
from controlplane.models.contact_merges import ContactMerge
from controlplane.models.security import SecurityEvent
from controlplane.models.tickets import Ticket
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME = "boss@acme.example"
_n = itertools.count(100)


def _number() -> str:
    """A fresh valid Polish mobile number (national form, E.164)."""
    n = next(_n)
    return f"600 {n // 1000:03d} {n % 1000:03d}", f"+48600{n // 1000:03d}{n % 1000:03d}"


@pytest.fixture
def sessions(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _headers(client, csrf) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"X-CSRF-Token": csrf(client)}


def _create(client, csrf, **body: Any) -> Any:  # type: ignore[no-untyped-def]
    return client.post("/api/v1/contacts", json=body, headers=_headers(client, csrf))


def test_create_read_update_and_search(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    national, e164 = _number()
    resp = _create(client, csrf, first_name="Ewa", last_name="Zielińska-Test",
                   email="ewa@example.com", custom={"segment": "gold", "score": 7},
                   phones=[{"number": "+48221234567"}, {"number": national, "main": True}])
    assert resp.status_code == 201, resp.get_json()
    contact = resp.get_json()["contact"]
    assert [p["number"] for p in contact["phones"]] == [e164, "+48221234567"]
    assert contact["phones"][0]["main"] and contact["phones"][0]["kind"] == "mobile"
    cid = contact["id"]
    assert client.get(f"/api/v1/contacts/{cid}").get_json()["contact"]["custom"] == {
        "segment": "gold", "score": 7}

    for q in (national, e164, e164[3:], "zielińska-test", "Ewa Zielińska-Test"):
        found = client.get("/api/v1/contacts", query_string={"q": q}).get_json()
        assert cid in [c["id"] for c in found["contacts"]], q
        assert next(c for c in found["contacts"] if c["id"] == cid)["main_number"] == e164
    assert client.get("/api/v1/contacts", query_string={"q": "nobody-xyz"}).get_json()[
        "total"] == 0

    resp = client.put(f"/api/v1/contacts/{cid}", json={"last_name": "Nowa-Test", "phones": [
        {"number": national}]}, headers=_headers(client, csrf))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["contact"]
    assert (body["first_name"], body["last_name"]) == ("Ewa", "Nowa-Test")
    assert [p["number"] for p in body["phones"]] == [e164]


def test_paging_and_sort(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    for name in ("Pagea", "Pageb", "Pagec"):
        assert _create(client, csrf, first_name="Sorty", last_name=name).status_code == 201
    resp = client.get("/api/v1/contacts", query_string={"q": "Sorty", "sort": "-name",
                                                        "per_page": 2})
    body = resp.get_json()
    assert (body["total"], body["pages"]) == (3, 2)
    assert [c["last_name"] for c in body["contacts"]] == ["Pagec", "Pageb"]
    bad = client.get("/api/v1/contacts", query_string={"sort": "password"})
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["field"] == "sort"


def test_bad_input_names_the_field(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    cases = [
        ({"phones": [{"number": "12"}]}, 422, "phones[0].number"),
        ({"email": "not-an-address"}, 422, "email"),
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"phones": [{"number": "+48221234500", "main": True},
                     {"number": "+48221234501", "main": True}]}, 422, "phones[1].main"),
        ({"first_name": 5}, 400, "first_name"),
        ({"nickname": "x"}, 400, "nickname"),
    ]
    for body, status, field in cases:
        resp = _create(client, csrf, **body)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.get_json()["error"]["details"]["field"] == field, body
    assert client.get("/api/v1/contacts/999999").status_code == 404


def test_number_of_another_contact_is_409_naming_it(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    national, e164 = _number()
    first = _create(client, csrf, first_name="Owner", phones=[{"number": e164}]).get_json()
    resp = _create(client, csrf, first_name="Second", phones=[{"number": national}])
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["id"] == "number_taken"
    assert (err["details"]["contact_id"], err["details"]["contact_name"]) == (
        first["contact"]["id"], "Owner")


def test_tenants_and_roles(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    cid = _create(client, csrf, first_name="Demo-only").get_json()["contact"]["id"]
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME)
    assert client.get(f"/api/v1/contacts/{cid}").status_code == 404
    assert client.get(f"/contacts/{cid}").status_code == 404
    assert client.get(f"/api/v1/contacts/{cid}/history").status_code == 404
    assert client.delete(f"/api/v1/contacts/{cid}",
                         headers=_headers(client, csrf)).status_code == 404
    listed = client.get("/api/v1/contacts", query_string={"q": "Demo-only"}).get_json()
    assert listed["total"] == 0
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(AGENT)
    assert client.get("/api/v1/contacts").status_code == 403
    assert client.get("/contacts").status_code == 403
    assert client.get(f"/api/v1/contacts/{cid}").status_code == 403


def test_delete_and_delete_refused_with_dial_attempts(client, login, csrf, world_of) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    cid = _create(client, csrf, first_name="Gone").get_json()["contact"]["id"]
    assert client.delete(f"/api/v1/contacts/{cid}",
                         headers=_headers(client, csrf)).get_json() == {"deleted": cid}
    assert client.get(f"/api/v1/contacts/{cid}").status_code == 404
    called = world_of("Called")
    resp = client.delete(f"/api/v1/contacts/{called['contact']}", headers=_headers(client, csrf))
    assert resp.status_code == 409 and resp.get_json()["error"]["id"] == "contact_in_use"


@pytest.fixture
def world_of(sessions):  # type: ignore[no-untyped-def]
    """``world_of(name)`` builds :func:`_world`; its call records are deleted afterwards
    (other tests count the demo tenant's call records)."""
    made: list[str] = []

    def build(name: str) -> dict[str, Any]:
        w = _world(sessions, name)
        made.extend(w["calls"])
        return w

    yield build
    with transaction(sessions) as s:
        s.execute(delete(CallRecord).where(CallRecord.call_id.in_(made)))


def _world(sessions, name: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A demo contact in a campaign with an attempt (disposed), a recontact, an HLR result
    and an inbound call from its number."""
    _national, e164 = _number()
    at = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        tid = campaign_store.tenant_id(s, DEMO_DOMAIN)
        campaign = campaign_store.create_campaign(s, tid, f"history {name} {next(_n)}")
        contact = Contact(tenant_id=tid, first_name=name, last_name="Historyk", custom={})
        s.add(contact)
        s.flush()
        phone = ContactPhone(tenant_id=tid, contact_id=contact.id, number=e164, kind="mobile")
        s.add(phone)
        s.flush()
        record = CampaignRecord(tenant_id=tid, campaign_id=campaign.id, contact_id=contact.id,
                                phone_id=phone.id, state="scheduled", attempts=1)
        s.add(record)
        s.add(Disposition(tenant_id=tid, campaign_id=campaign.id, code=f"CB{next(_n)}",
                          label="Call back later"))
        s.flush()
        code = s.scalars(select(Disposition.code).where(
            Disposition.campaign_id == campaign.id)).one()
        call_id = f"contact-call-{next(_n)}"
        s.add(CallRecord(call_id=call_id, tenant_id=tid, direction="outbound", status="ended",
                         caller="+48221000000", callee=e164, caller_channel="PJSIP/x",
                         started_at=at, recording_path="demo-0.wav"))
        s.add(DialAttempt(tenant_id=tid, campaign_id=campaign.id, record_id=record.id,
                          call_id=call_id, number=e164, mode="progressive", dial_at=at,
                          outcome="human", disposition_code=code))
        s.add(Recontact(tenant_id=tid, record_id=record.id, due_at=at + timedelta(days=1),
                        note="after lunch"))
        s.add(HlrResult(tenant_id=tid, number=e164, status="active", provider="test",
                        checked_at=at - timedelta(days=1)))
        s.add(CallRecord(call_id=f"in-{call_id}", tenant_id=tid, direction="inbound",
                         status="ended", caller=e164.lstrip("+"), callee="1001",
                         caller_channel="PJSIP/y", started_at=at + timedelta(hours=2)))
        s.flush()
        return {"contact": contact.id, "campaign": campaign.id, "record": record.id,
                "number": e164, "code": code, "tenant": tid,
                "calls": [call_id, f"in-{call_id}"]}


def test_history_is_one_timeline_newest_first(client, login, world_of) -> None:  # type: ignore[no-untyped-def]
    w = world_of("Timeline")
    login(SUPERVISOR)
    body = client.get(f"/api/v1/contacts/{w['contact']}/history").get_json()
    kinds = [e["kind"] for e in body["history"]]
    assert set(kinds) == {"campaign_record", "attempt", "call", "recontact", "hlr"}, kinds
    ats = [e["at"] for e in body["history"]]
    assert ats == sorted(ats, reverse=True)
    assert kinds[0] == "campaign_record" and kinds[-1] == "hlr"  # record created now
    attempt = next(e for e in body["history"] if e["kind"] == "attempt")
    assert (attempt["outcome"], attempt["disposition_label"]) == ("human", "Call back later")
    assert attempt["recording_url"].startswith("/calls/records/")
    call = next(e for e in body["history"] if e["kind"] == "call")
    assert call["direction"] == "inbound"  # the outbound one is the attempt, not twice


def test_the_timeline_holds_tickets_mails_sms_and_chats(client, login, sessions,  # type: ignore[no-untyped-def]
                                                        demo_in_polish) -> None:
    """One contact timeline across channels: its tickets (found by contact, number or
    address), their e-mails and SMS in and out, and its chats; in Polish on the page."""
    _national, e164 = _number()
    at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        tid = campaign_store.tenant_id(s, DEMO_DOMAIN)
        contact = Contact(tenant_id=tid, first_name="Ola", last_name="Kanałowa",
                          email=f"ola{next(_n)}@klient.example", custom={})
        s.add(contact)
        s.flush()
        s.add(ContactPhone(tenant_id=tid, contact_id=contact.id, number=e164, kind="mobile"))
        s.flush()
        sms = threads.receive(s, threads.Inbound(tid, "sms", e164, "Paczka nie doszła",
                                                 thread_key=True, at=at))
        mail = threads.receive(s, threads.Inbound(
            tid, "email", contact.email.upper(), "Proszę o fakturę", subject="Faktura",
            external_id=f"<{next(_n)}@klient.example>", at=at + timedelta(hours=1)))
        threads.reply(s, s.get_one(Ticket, mail.ticket_id), body="W załączniku",
                      channel="email", author_user_id=None, at=at + timedelta(hours=2))
        s.add(Chat(tenant_id=tid, public_id=f"pub-{next(_n)}", status="ended",
                   visitor_email=contact.email, created_at=at + timedelta(hours=3),
                   answered_at=at + timedelta(hours=3, seconds=20),
                   ended_at=at + timedelta(hours=3, minutes=5), survey_score=5,
                   ticket_id=sms.ticket_id))
        other = Contact(tenant_id=tid, first_name="Inny", custom={})
        s.add(other)
        s.flush()
        threads.receive(s, threads.Inbound(tid, "sms", "+48600999111", "nie moje",
                                           thread_key=True, at=at))
        cid = contact.id
    login(SUPERVISOR)
    events = client.get(f"/api/v1/contacts/{cid}/history").get_json()["history"]
    kinds = [e["kind"] for e in events]
    # a ticket and the message that opened it share a moment: the ticket is listed first
    assert kinds == ["chat", "message", "ticket", "message", "ticket", "message"], kinds
    chat, out, inbound = events[0], events[1], events[3]
    assert (chat["status"], chat["duration_s"], chat["survey_score"]) == ("ended", 280, 5)
    assert chat["ticket_number"] == next(e["number"] for e in events
                                         if e["kind"] == "ticket" and e["channel"] == "sms")
    assert (out["direction"], out["channel"], out["text"]) == ("out", "email", "W załączniku")
    assert (inbound["direction"], inbound["text"]) == ("in", "Proszę o fakturę")
    assert "nie moje" not in str(events)
    login(ADMIN)
    html = client.get(f"/contacts/{cid}").get_data(as_text=True)
    for text in ("Zgłoszenie nr", "Faktura", "Nowe", "E-mail do klienta", "SMS od klienta",
                 "Czat", "Zakończony", "ocena 5/5"):
        assert text in html, text


def test_contact_page_in_polish(client, login, world_of, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    w = world_of("Polski")
    login(ADMIN)
    html = client.get(f"/contacts/{w['contact']}").get_data(as_text=True)
    for text in ("Historia", "Odebrał człowiek", "Call back later", "Nagranie", "Aktywny w sieci"):
        assert text in html, text
    assert "human" not in html.replace("humans", "")
    listing = client.get("/contacts", query_string={"q": w["number"]}).get_data(as_text=True)
    assert "Polski Historyk" in listing and "Kontakty" in listing


def test_merge_moves_numbers_records_history_and_is_logged(client, login, csrf, sessions,
                                                          world_of) -> None:  # type: ignore[no-untyped-def]
    keep = world_of("Keep")
    other = world_of("Other")
    with transaction(sessions) as s:  # both in one campaign too: the records are joined
        c = s.get(Contact, other["contact"])
        c.email, c.custom = "other@example.com", {"vip": "yes"}
        phone_id = s.scalars(select(ContactPhone.id).where(
            ContactPhone.contact_id == other["contact"])).one()
        shared = CampaignRecord(tenant_id=keep["tenant"], campaign_id=keep["campaign"],
                                contact_id=other["contact"], phone_id=phone_id)
        s.add(shared)
        s.flush()
        s.add(DialAttempt(tenant_id=keep["tenant"], campaign_id=keep["campaign"],
                          record_id=shared.id, number=other["number"], mode="progressive",
                          dial_at=datetime(2026, 6, 1, tzinfo=UTC), outcome="busy"))
    login(SUPERVISOR)
    resp = client.post(f"/api/v1/contacts/{keep['contact']}/merge",
                       json={"from_id": other["contact"]}, headers=_headers(client, csrf))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {p["number"] for p in body["contact"]["phones"]} == {keep["number"], other["number"]}
    assert body["contact"]["phones"][0]["number"] == keep["number"]  # main number kept
    assert body["contact"]["email"] == "other@example.com"  # blank here: taken over
    assert body["contact"]["custom"] == {"vip": "yes"}
    assert body["merge"]["merged_name"] == "Other Historyk"
    assert body["merge"]["moved"]["campaign_records"] == 1
    assert body["merge"]["moved"]["records_joined"] == 1
    assert client.get(f"/api/v1/contacts/{other['contact']}").status_code == 404
    with sessions() as s:
        records = s.scalars(select(CampaignRecord).where(
            CampaignRecord.contact_id == keep["contact"])).all()
        assert {r.campaign_id for r in records} == {keep["campaign"], other["campaign"]}
        kept_record = next(r for r in records if r.campaign_id == keep["campaign"])
        outcomes = s.scalars(select(DialAttempt.outcome).where(
            DialAttempt.record_id == kept_record.id)).all()
        assert sorted(outcomes) == ["busy", "human"]
        log = s.scalars(select(ContactMerge).where(
            ContactMerge.contact_id == keep["contact"])).one()
        assert log.actor == SUPERVISOR and log.merged_id == other["contact"]
        audit = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "contact.merged")
                          .order_by(SecurityEvent.id.desc())).first()
        assert audit is not None
    history = client.get(f"/api/v1/contacts/{keep['contact']}/history").get_json()
    assert len([e for e in history["history"] if e["kind"] == "attempt"]) == 3
    assert history["merges"][0]["merged_id"] == other["contact"]
    html = client.get(f"/contacts/{keep['contact']}").get_data(as_text=True)
    assert "Other Historyk" in html and f"#{other['contact']}" in html
    # into itself, or from another tenant's id: refused
    assert client.post(f"/api/v1/contacts/{keep['contact']}/merge",
                       json={"from_id": keep["contact"]},
                       headers=_headers(client, csrf)).status_code == 422
    assert client.post(f"/api/v1/contacts/{keep['contact']}/merge", json={"from_id": "x"},
                       headers=_headers(client, csrf)).status_code == 400


def test_pages_create_edit_duplicates_merge_delete(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    assert client.get("/contacts/new").status_code == 200
    national, e164 = _number()
    form = {"csrf_token": csrf(client), "first_name": "Duplik", "last_name": "Stronowy",
            "email": "", "timezone": "", "phone": [national, ""], "main": "0",
            "custom_key": ["note", ""], "custom_value": ["hello", ""]}
    resp = client.post("/contacts/new", data=form)
    assert resp.status_code == 302
    first = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/contacts/{first}").get_data(as_text=True)
    assert e164 in page and "hello" in page
    # the same number again: refused, naming the contact that has it
    resp = client.post("/contacts/new", data={**form, "first_name": "Duplik"})
    assert resp.status_code == 409
    assert f"/contacts/{first}" in resp.get_data(as_text=True)
    resp = client.post("/contacts/new", data={**form, "phone": ["12"]})
    assert resp.status_code == 422 and 'data-error-for="phones[0].number"' in resp.get_data(
        as_text=True)
    # a second one with the same name is a likely duplicate, merged from the page
    resp = client.post("/contacts/new", data={**form, "phone": [""], "custom_key": [],
                                              "custom_value": []})
    second = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/contacts/{first}").get_data(as_text=True)
    assert f'data-duplicate="{second}"' in page and "data-confirm=" in page
    resp = client.post(f"/contacts/{first}/merge",
                       data={"csrf_token": csrf(client), "from_id": str(second)})
    assert resp.status_code == 302
    page = client.get(f"/contacts/{first}").get_data(as_text=True)
    assert f'data-merged="{second}"' in page and f'data-duplicate="{second}"' not in page
    resp = client.post(f"/contacts/{first}/delete", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert client.get(f"/contacts/{first}").status_code == 404
