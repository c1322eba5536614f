"""TTS meter: billable characters per tenant per month, upserted on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import Tenant, TtsUsage
from controlplane.tts import TtsMeter, month_of


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meter.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def tenant(factory: sessionmaker[Session], domain: str) -> int:
    with transaction(factory) as s:
        row = Tenant(domain=domain, name=domain)
        s.add(row)
        s.flush()
        return row.id


def test_adds_up_per_tenant_and_month(factory: sessionmaker[Session]) -> None:
    a, b = tenant(factory, "a.example"), tenant(factory, "b.example")
    meter = TtsMeter()
    nov = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    with transaction(factory) as s:
        meter.add(s, a, 10, nov)
        meter.add(s, a, 5, nov - timedelta(days=3))
        meter.add(s, b, 7, nov)
        meter.add(s, a, 0, nov)  # nothing to bill, no row either
    with transaction(factory) as s:
        meter.add(s, a, 3, nov + timedelta(minutes=2))  # December in UTC
    with factory() as s:
        assert meter.usage(s, a, "2026-11") == 15
        assert meter.usage(s, a, "2026-12") == 3
        assert meter.usage(s, b, "2026-11") == 7
        assert meter.usage(s, b, "2026-12") == 0
        assert s.scalar(select(func.count()).select_from(TtsUsage)) == 3


def test_month_is_utc_and_naive_times_are_refused() -> None:
    warsaw_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert month_of(warsaw_new_year) == "2026-12"
    with pytest.raises(ValueError, match="naive"):
        month_of(datetime(2026, 1, 1))


def test_negative_characters_are_refused(factory: sessionmaker[Session]) -> None:
    a = tenant(factory, "a.example")
    with factory() as s, pytest.raises(ValueError, match="negative"):
        TtsMeter().add(s, a, -1, datetime(2026, 1, 1, tzinfo=UTC))
