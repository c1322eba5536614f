"""The miniCRM store on both engines: one contact per customer (de-duplicated by E.164
number within a tenant), records in campaigns, the blacklist's scopes and prefixes, and
recontacts scheduled, moved and cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import store
from controlplane.campaigns.exceptions import Conflict, InvalidNumber, InvalidValue, NotFound
from controlplane.campaigns.store import ContactFields
from controlplane.db import transaction
from controlplane.models import Campaign, CampaignRecord, Contact, ContactPhone, Recontact

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _count(s: Session, model) -> int:  # type: ignore[no-untyped-def]
    return s.scalar(select(func.count()).select_from(model)) or 0


def test_same_number_written_differently_is_one_contact(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        first, _, created = store.add_contact(
            s, world.a, ["600 100 200"], "PL", ContactFields(first_name="Ewa", custom={"a": "1"})
        )
        assert created
        again, phones, created = store.add_contact(
            s,
            world.a,
            ["+48600100200", "22 123 45 67"],
            "PL",
            ContactFields(last_name="Nowak", custom={"b": "2"}),
        )
        assert not created and again.id == first.id
        assert [(p.number, p.position, p.kind) for p in phones] == [
            ("+48600100200", 0, "mobile"),
            ("+48221234567", 1, "fixed"),
        ]
        # tenant B's customer with the same number is a different contact
        other, _, created = store.add_contact(s, world.b, ["0048600100200"], "PL")
        assert created and other.id != first.id
    with factory() as s:
        contact = s.get(Contact, first.id)
        assert contact is not None
        assert (contact.first_name, contact.last_name) == ("Ewa", "Nowak")  # None kept Ewa
        assert contact.custom == {"a": "1", "b": "2"}
        assert _count(s, Contact) == 2 and _count(s, ContactPhone) == 3


def test_numbers_of_two_contacts_are_a_conflict(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        store.add_contact(s, world.a, ["600100200"], "PL")
        store.add_contact(s, world.a, ["600100201"], "PL")
    with (
        pytest.raises(Conflict, match=r"\+48600100200 \(contact #\d+\), \+48600100201"),
        transaction(factory) as s,
    ):
        store.add_contact(s, world.a, ["600100200", "600100201"], "PL")


def test_contact_values_are_checked(factory, world) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        with pytest.raises(InvalidNumber):
            store.add_contact(s, world.a, ["12"], "PL")
        with pytest.raises(InvalidValue, match="Mars/Olympus"):
            store.add_contact(
                s, world.a, ["600100200"], "PL", ContactFields(timezone="Mars/Olympus")
            )
        with pytest.raises(InvalidValue, match="at least one"):
            store.add_contact(s, world.a, [], "PL")


def test_attach_keeps_one_record_per_contact_and_campaign(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        campaign = s.get(Campaign, world.campaign)
        assert campaign is not None
        contact, phones, _ = store.add_contact(s, world.a, ["600100200", "221234567"], "PL")
        record, created = store.attach(s, campaign, contact, phones[0], priority=5)
        assert created and (record.state, record.priority) == ("fresh", 5)
        record.attempts = 2
        same, created = store.attach(s, campaign, contact, phones[1])
        assert not created and same.id == record.id
        assert (same.phone_id, same.priority, same.attempts) == (phones[1].id, 5, 2)
        with pytest.raises(InvalidValue, match="outside 0-100"):
            store.attach(s, campaign, contact, phones[0], priority=101)
    with factory() as s:
        assert _count(s, CampaignRecord) == 1


def test_campaign_names_modes_regions_and_queues_are_checked(factory, world) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        with pytest.raises(Conflict, match="'spring' already exists"):
            store.create_campaign(s, world.a, "spring")
        with pytest.raises(InvalidValue, match="unknown mode 'turbo'"):
            store.create_campaign(s, world.a, "x", mode="turbo")
        with pytest.raises(NotFound, match="no queue named 'support'"):
            store.create_campaign(s, world.a, "x", queue="support")
        with pytest.raises(NotFound, match="no queue named 'sales'"):  # tenant A's queue
            store.create_campaign(s, world.b, "x", queue="sales")
        with pytest.raises(InvalidValue, match="invalid campaign name"):
            store.create_campaign(s, world.a, " x")
        uk = store.create_campaign(s, world.b, "spring", region="uk", mode="preview")
        assert (uk.default_region, uk.mode, uk.tenant_id) == ("GB", "preview", world.b)
        assert [c.name for c in store.list_campaigns(s, world.a)] == ["spring"]
        with pytest.raises(NotFound, match="no tenant"):
            store.tenant_id(s, "c.example")
        assert store.tenant_id(s, " A.Example ") == world.a


def _other_campaign(s: Session, world) -> int:  # type: ignore[no-untyped-def]
    return store.create_campaign(s, world.a, "autumn").id


def test_blacklist_exact_and_prefix_in_every_scope(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        autumn = _other_campaign(s, world)
        platform = store.add_blacklist(s, "+4870", is_prefix=True, reason="premium")
        store.add_blacklist(s, "600 100 200", tenant=world.a, reason="asked")
        only_spring = store.add_blacklist(s, "600100300", tenant=world.a, campaign=world.campaign)
        store.add_blacklist(s, "+48601", tenant=world.b, is_prefix=True)
        again = store.add_blacklist(s, "+48 70", is_prefix=True)
        assert again.id == platform.id  # adding twice stores one entry

        def hit(number: str, tenant: int, campaign: int | None):  # type: ignore[no-untyped-def]
            entry = store.blacklisted(s, number, tenant=tenant, campaign=campaign)
            return None if entry is None else (entry.pattern, entry.is_prefix)

        # platform-wide prefix: every tenant, every campaign
        assert hit("+48700123456", world.a, world.campaign) == ("+4870", True)
        assert hit("+48700123456", world.b, None) == ("+4870", True)
        # a prefix matches from the start only, and is not an exact entry
        assert hit("+48170123456", world.a, world.campaign) is None
        # the tenant's exact number: all its campaigns, not tenant B
        assert hit("+48600100200", world.a, autumn) == ("+48600100200", False)
        assert hit("+48600100200", world.b, None) is None
        assert hit("+48600100201", world.a, world.campaign) is None  # exact means exact
        # one campaign's entry
        assert hit("+48600100300", world.a, world.campaign) == ("+48600100300", False)
        assert hit("+48600100300", world.a, autumn) is None
        # tenant B's prefix does not reach tenant A
        assert hit("+48601000000", world.a, world.campaign) is None
        assert hit("+48601000000", world.b, None) == ("+48601", True)
        assert only_spring.tenant_id == world.a


def test_blacklist_refuses_bad_patterns_and_foreign_campaigns(factory, world) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        with pytest.raises(InvalidNumber, match="a prefix must be"):
            store.add_blacklist(s, "070", is_prefix=True)
        with pytest.raises(InvalidNumber):
            store.add_blacklist(s, "12", tenant=world.a)
        with pytest.raises(NotFound, match="no campaign"):
            store.add_blacklist(s, "600100200", tenant=world.b, campaign=world.campaign)


def _record_id(s: Session, world) -> int:  # type: ignore[no-untyped-def]
    campaign = s.get(Campaign, world.campaign)
    assert campaign is not None
    contact, phones, _ = store.add_contact(s, world.a, ["600100200"], "PL")
    return store.attach(s, campaign, contact, phones[0])[0].id


def test_recontact_schedule_move_cancel(factory: sessionmaker[Session], world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        record_id = _record_id(s, world)
        first = store.schedule_recontact(
            s,
            world.a,
            record_id,
            T0,
            user_id=world.agent,
            reminder_at=T0 - timedelta(minutes=5),
            note="after 10",
        )
        record = s.get(CampaignRecord, record_id)
        assert record is not None
        assert (record.state, record.next_due_at, record.assigned_user_id) == (
            "scheduled",
            T0,
            world.agent,
        )
        with pytest.raises(NotFound, match="no user"):
            store.schedule_recontact(s, world.a, record_id, T0, user_id=world.agent + 99)
        with pytest.raises(Conflict, match="already has recontact"):
            store.schedule_recontact(s, world.a, record_id, T0)
        later = T0 + timedelta(days=1)
        moved = store.move_recontact(s, world.a, first.id, later, user_id=None)
        assert (first.status, moved.status, moved.moved_from_id) == ("moved", "scheduled", first.id)
        assert (moved.user_id, moved.note) == (None, "after 10")  # now for anyone
        assert (record.next_due_at, record.assigned_user_id) == (later, None)
        with pytest.raises(Conflict, match="is moved, not scheduled"):
            store.move_recontact(s, world.a, first.id, later)
        store.cancel_recontact(s, world.a, moved.id)
        assert (moved.status, record.state, record.next_due_at) == ("cancelled", "closed", None)
        with pytest.raises(Conflict, match="is cancelled"):
            store.cancel_recontact(s, world.a, moved.id)
        with pytest.raises(NotFound):
            store.cancel_recontact(s, world.b, first.id)  # another tenant's recontact
    with factory() as s:
        rows = s.scalars(select(Recontact).order_by(Recontact.id)).all()
        assert [(r.status, r.due_at) for r in rows] == [("moved", T0), ("cancelled", later)]


def test_recontact_times_are_checked(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        record_id = _record_id(s, world)
        with pytest.raises(InvalidValue, match="time zone"):
            store.schedule_recontact(s, world.a, record_id, datetime(2026, 12, 2, 10))
        with pytest.raises(InvalidValue, match="reminder"):
            store.schedule_recontact(s, world.a, record_id, T0, reminder_at=T0 + timedelta(1))
        record = s.get(CampaignRecord, record_id)
        assert record is not None
        record.attempts, record.outcome_counts = 3, {"no_answer": 3}
        row = store.schedule_recontact(s, world.a, record_id, T0)
        assert (record.attempts, record.outcome_counts) == (0, {})  # a recontact: a new cycle
        record.attempts, record.outcome_counts = 1, {"busy": 1}
        with pytest.raises(InvalidValue, match="time zone"):
            store.move_recontact(s, world.a, row.id, datetime(2026, 12, 3))
        with pytest.raises(NotFound, match="no user"):
            store.move_recontact(s, world.a, row.id, T0, user_id=world.agent + 99)
        assert row.status == "scheduled"  # refused moves leave it as it was
        store.move_recontact(s, world.a, row.id, T0 + timedelta(hours=1))
        assert (record.attempts, record.outcome_counts) == (1, {"busy": 1})  # same cycle
