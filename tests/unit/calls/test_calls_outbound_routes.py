"""Outbound routes used by every outbound path (SQLite and PostgreSQL): a desk phone dialling
out and an IVR transfer (``calls.routing``), a campaign attempt (``dialer.store.leg_for``,
``attempt_store.reserve``) and a preview attempt. No route: the first trunk, as before."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from datetime import time as dtime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.admin import route_store
from controlplane.calls.routing import outbound_binding, transfer_target
from controlplane.db import transaction
from controlplane.dialer import attempt_store, store
from controlplane.dialer.live import PlaceCall
from controlplane.models import PhoneEndpoint, Tenant, Trunk
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)
from controlplane.models.outbound_routes import OutboundRoute, OutboundRouteTrunk

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


def tenant(factory: sessionmaker[Session], key: str) -> tuple[int, list[int]]:
    """A tenant with a phone (1001) and trunks ``<key>-t1``, ``<key>-t2``: (id, trunk ids)."""
    with transaction(factory) as s:
        t = Tenant(domain=f"{key}.example", name=key, licences=5)
        s.add(t)
        s.flush()
        trunks = [Trunk(tenant_id=t.id, name=f"{key}-t{n}", host=f"{key}{n}.example",
                        username="u", secret="s" * 20) for n in (1, 2)]
        s.add_all([*trunks, PhoneEndpoint(tenant_id=t.id, name=f"{key}-1001",
                                          extension="1001", secret="p" * 32)])
        s.flush()
        return t.id, [tr.id for tr in trunks]


def add_route(factory: sessionmaker[Session], tenant_id: int, name: str, position: int,
              prefixes: list[str], trunk_ids: list[int], **kw: object) -> None:
    with transaction(factory) as s:
        r = OutboundRoute(tenant_id=tenant_id, name=name, position=position, prefixes=prefixes,
                          **kw)
        s.add(r)
        s.flush()
        s.add_all([OutboundRouteTrunk(route_id=r.id, position=i, trunk_id=t)
                   for i, t in enumerate(trunk_ids)])


def test_no_route_keeps_the_first_trunk(factory) -> None:  # type: ignore[no-untyped-def]
    tid, _ = tenant(factory, "a")
    b = outbound_binding(factory, "a-1001", "48600100200")
    assert (b.trunk, b.dial) == ("a-t1", "PJSIP/48600100200@a-t1")
    assert transfer_target(factory, tid, "number", "+48600100200") == (
        "PJSIP/48600100200@a-t1", None)
    assert outbound_binding(factory, "a-1001", "1001").direction == "internal"


def test_the_longest_prefix_routes_desk_phones_and_transfers(factory) -> None:  # type: ignore[no-untyped-def]
    tid, (t1, t2) = tenant(factory, "a")
    add_route(factory, tid, "default", 0, [], [t1])
    add_route(factory, tid, "mobiles", 1, ["+486", "487"], [t2, t1], strip=2, prepend="0")
    add_route(factory, tid, "off", 2, ["4860010"], [t1], enabled=False)
    b = outbound_binding(factory, "a-1001", "48600100200")
    assert (b.trunk, b.dial, b.callee) == ("a-t2", "PJSIP/0600100200@a-t2", "48600100200")
    assert outbound_binding(factory, "a-1001", "48221234567").dial == "PJSIP/48221234567@a-t1"
    assert transfer_target(factory, tid, "number", "+48700100200") == (
        "PJSIP/0700100200@a-t2", None)
    with factory() as s:
        choice = route_store.choice_for(s, tid, "48600100200")
    assert choice is not None and [leg.trunk for leg in choice.legs] == ["a-t2", "a-t1"]


def test_routes_without_a_catch_all_leave_other_numbers_no_way_out(factory) -> None:  # type: ignore[no-untyped-def]
    tid, (_t1, t2) = tenant(factory, "a")
    add_route(factory, tid, "mobiles", 0, ["486"], [t2])
    b = outbound_binding(factory, "a-1001", "48221234567")
    assert (b.tenant_id, b.dial) == (tid, None)
    assert transfer_target(factory, tid, "number", "48221234567") == (None, None)


def test_another_tenants_trunk_in_a_route_is_never_dialled(factory) -> None:  # type: ignore[no-untyped-def]
    a, (a1, _) = tenant(factory, "a")
    _b, (b1, _) = tenant(factory, "b")
    add_route(factory, a, "stolen", 0, ["48"], [b1, a1])  # only SQL can write this
    with factory() as s:
        [r] = route_store.routes_of(s, a)
    assert r.trunks == ("a-t1",)


def campaign(factory: sessionmaker[Session], tid: int, numbers: list[str]) -> int:
    with transaction(factory) as s:
        q = Queue(tenant_id=tid, name="out")
        s.add(q)
        s.flush()
        c = Campaign(tenant_id=tid, name="c", mode="progressive", status="running",
                     queue_id=q.id, caller_id_mode="fixed", fixed_caller_id="+48221000099",
                     window_start=dtime(0, 0), window_end=dtime(23, 59, 59),
                     window_days=[1, 2, 3, 4, 5, 6, 7], regulator="uk")
        s.add(c)
        s.flush()
        for n in numbers:
            contact = Contact(tenant_id=tid)
            s.add(contact)
            s.flush()
            phone = ContactPhone(tenant_id=tid, contact_id=contact.id, number=n)
            s.add(phone)
            s.flush()
            s.add(CampaignRecord(tenant_id=tid, campaign_id=c.id, contact_id=contact.id,
                                 phone_id=phone.id))
        return c.id


def test_campaign_attempts_leave_by_their_numbers_route(factory) -> None:  # type: ignore[no-untyped-def]
    tid, (_t1, t2) = tenant(factory, "a")
    cid = campaign(factory, tid, ["+48600000001", "+48221000001", "+44200000001"])
    [plan] = store.running_campaigns(factory)
    assert plan.routes == () and store.leg_for(plan, "+48600000001").dial == (  # type: ignore[union-attr]
        "PJSIP/48600000001@a-t1")
    add_route(factory, tid, "mobiles", 0, ["486"], [t2], prepend="9")
    add_route(factory, tid, "poland", 1, ["48"], [_t1])
    [plan] = store.running_campaigns(factory)
    assert store.leg_for(plan, "+48600000001").dial == "PJSIP/948600000001@a-t2"  # type: ignore[union-attr]
    taken = attempt_store.reserve(factory, plan, 10, NOW, guaranteed=True,
                                  rng=random.Random(1))
    # +44 has no route: not taken, still waiting
    assert sorted(r.number for r in taken) == ["+48221000001", "+48600000001"]
    with factory() as s:
        rows = s.execute(select(DialAttempt.number, DialAttempt.trunk)
                         .where(DialAttempt.campaign_id == cid)).all()
        trunks = {number: trunk for number, trunk in rows}
        waiting = s.scalar(select(CampaignRecord.state).join(
            ContactPhone, ContactPhone.id == CampaignRecord.phone_id).where(
            ContactPhone.number == "+44200000001"))
    assert trunks == {"+48600000001": "a-t2", "+48221000001": "a-t1"} and waiting == "fresh"
    place = PlaceCall(attempt_id="1-1", tenant_id=tid, number="+48600000001", trunk="a-t2",
                      caller_id="", queue="out", abandon_prompt="x", dialled="948600000001")
    assert place.dial == "PJSIP/948600000001@a-t2"
    assert PlaceCall.from_command({**place.__dict__, "skills": []}).dialled == "948600000001"
