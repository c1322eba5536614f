"""The campaign tables on SQLite and PostgreSQL: the migration goes down and up again,
CHECK constraints refuse values outside the documented sets, the compliance log is
keyed by call id and keeps its campaign and record from being deleted."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from alembic import command
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import store
from controlplane.db import make_engine, transaction
from controlplane.migrate import alembic_config, upgrade
from controlplane.models import (
    BlacklistEntry,
    CallerIdNumber,
    CallerIdUsage,
    Campaign,
    CampaignRecord,
    DialAttempt,
    Disposition,
    HlrResult,
    Recontact,
)

TABLES = {
    "campaign",
    "contact",
    "contact_phone",
    "campaign_record",
    "recontact",
    "blacklist_entry",
    "caller_id_number",
    "caller_id_usage",
    "disposition",
    "dial_attempt",
    "hlr_result",
}
BEFORE = "9d69c2273d8f"  # the revision this one builds on
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_downgrades_and_upgrades_again(db_url: str) -> None:
    upgrade(db_url)
    assert _tables(db_url) >= TABLES
    command.downgrade(alembic_config(db_url), BEFORE)
    left = _tables(db_url)
    assert not TABLES & left and {"acd_queue", "call_record"} <= left
    upgrade(db_url)
    assert _tables(db_url) >= TABLES


def _record(s: Session, world) -> CampaignRecord:  # type: ignore[no-untyped-def]
    contact, phones, _ = store.add_contact(s, world.a, ["600100200"], "PL")
    campaign = s.get(Campaign, world.campaign)
    assert campaign is not None
    return store.attach(s, campaign, contact, phones[0])[0]


def test_defaults_round_trip(factory: sessionmaker[Session], world) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        c = s.get(Campaign, world.campaign)
        assert c is not None and c.queue_id is not None
        assert (c.mode, c.kind, c.status, c.regulator) == ("progressive", "outbound", "draft", "uk")
        assert (c.window_start, c.window_end, c.window_days) == (time(9), time(20), [1, 2, 3, 4, 5])
        assert (c.caller_id_mode, c.max_attempts) == ("pool", 6)
        assert c.retry_rules["abandoned"] == {"max_attempts": 2, "interval_s": 259200}
        order = c.dialing_order
        assert (order["fresh"], order["private"], order["system"]) == (60, 30, 10)
        assert order["recontact_order"] == "most_overdue" and order["private_grace_s"] is None
        assert c.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (Campaign, {"name": "x", "mode": "turbo"}),
        (Campaign, {"name": "x", "target_abandon_rate": 0.05}),  # above the 3 % cap
        (Campaign, {"name": "x", "ring_timeout_s": 10.0}),  # US: ring at least 15 s
        (Campaign, {"name": "x", "caller_id_mode": "fixed"}),  # fixed without a number
        (Campaign, {"name": "x", "regulator": "pl"}),
        (Disposition, {"code": "cb", "action": "recontact", "action_delay_s": 0}),
        (Disposition, {"code": "mv", "action": "move"}),  # move without a target
        (HlrResult, {"number": "+48600100200", "status": "maybe", "provider": "p"}),
        (BlacklistEntry, {"pattern": "600100200"}),  # not E.164
    ],
)
def test_check_constraints_refuse_bad_values(factory, world, model, values) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(model(tenant_id=world.a, **values))


def test_record_state_and_outcome_are_checked(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        record_id = _record(s, world).id
    with pytest.raises(IntegrityError), transaction(factory) as s:
        row = s.get(CampaignRecord, record_id)
        assert row is not None
        row.state = "ringing"
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(
            DialAttempt(
                tenant_id=world.a,
                campaign_id=world.campaign,
                record_id=record_id,
                number="+48600100200",
                mode="predictive",
                dial_at=T0,
                outcome="maybe",
            )
        )


def test_dial_attempt_is_keyed_by_call_id_and_blocks_deletes(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        record = _record(s, world)
        s.add(
            DialAttempt(
                tenant_id=world.a,
                campaign_id=world.campaign,
                record_id=record.id,
                call_id="c-1",
                number="+48600100200",
                mode="predictive",
                dial_at=T0,
                outcome="abandoned",
                abandoned=True,
                hangup_cause=16,
            )
        )
        record_id = record.id
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(
            DialAttempt(
                tenant_id=world.a,
                campaign_id=world.campaign,
                record_id=record_id,
                call_id="c-1",
                number="+48600100200",
                mode="predictive",
                dial_at=T0,
            )
        )
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.execute(delete(Campaign).where(Campaign.id == world.campaign))
    with factory() as s:
        row = s.scalar(select(DialAttempt).where(DialAttempt.call_id == "c-1"))
        assert row is not None and row.dial_at == T0 and row.abandoned


def test_caller_id_usage_is_one_row_per_number_and_day(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        number = CallerIdNumber(
            tenant_id=world.a, number="+48221234567", region="Warsaw", daily_cap=100
        )
        s.add(number)
        s.flush()
        s.add(CallerIdUsage(number_id=number.id, day=T0.date(), count=3))
        number_id = number.id
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(CallerIdUsage(number_id=number_id, day=T0.date(), count=1))


def test_deleting_a_record_cascades_to_its_recontacts(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        record = _record(s, world)
        store.schedule_recontact(s, world.a, record.id, T0)
        record_id = record.id
    with transaction(factory) as s:
        s.execute(delete(CampaignRecord).where(CampaignRecord.id == record_id))
    with factory() as s:
        assert s.scalars(select(Recontact)).all() == []


def test_the_same_rows_with_good_values_are_stored(factory, world) -> None:  # type: ignore[no-untyped-def]
    """The control for the CHECK test: nothing else in those rows is what fails."""
    with transaction(factory) as s:
        s.add_all(
            [
                Campaign(
                    tenant_id=world.a,
                    name="x",
                    mode="predictive",
                    target_abandon_rate=0.02,
                    ring_timeout_s=15.0,
                    caller_id_mode="fixed",
                    fixed_caller_id="+48221234567",
                    regulator="us",
                ),
                Disposition(tenant_id=world.a, code="cb", action="recontact", action_delay_s=3600),
                Disposition(
                    tenant_id=world.a, code="cb2", action="recontact", recontact_private=False
                ),
                Disposition(
                    tenant_id=world.a, code="mv", action="move", action_campaign_id=world.campaign
                ),
                HlrResult(tenant_id=world.a, number="+48600100200", status="active", provider="p"),
                BlacklistEntry(tenant_id=world.a, pattern="+48600100200"),
            ]
        )


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    """Alembic's autogenerate finds nothing to add: the revision is what the models say."""
    upgrade(db_url)
    command.check(alembic_config(db_url))
