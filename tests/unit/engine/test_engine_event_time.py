"""ARI event timestamps: the fast parse gives exactly what strptime gave, offsets included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.engine.events import _at

ARI_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


@pytest.mark.parametrize("ts", [
    "2026-12-03T18:00:00.123+0000",  # Asterisk 22, as sent
    "2026-12-03T18:00:00.000+0000",
    "2026-12-03T19:00:00.5+0100",
    "2026-03-29T01:59:59.999-0530",
    "2026-12-03T18:00:00.123456+0000",
])
def test_event_time_is_parsed_as_strptime_did(ts: str) -> None:
    at = _at({"timestamp": ts})
    assert at == datetime.strptime(ts, ARI_FORMAT)
    assert at.utcoffset() == datetime.strptime(ts, ARI_FORMAT).utcoffset()


def test_asterisk_timestamp_values() -> None:
    at = _at({"timestamp": "2026-12-03T18:00:00.123+0000"})
    assert at == datetime(2026, 12, 3, 18, 0, 0, 123000, tzinfo=UTC)
    at = _at({"timestamp": "2026-12-03T19:00:00.5+0100"})
    assert at.utcoffset() == timedelta(hours=1)
    assert at == datetime(2026, 12, 3, 18, 0, 0, 500000, tzinfo=UTC)


def test_no_timestamp_is_now_in_utc() -> None:
    before = datetime.now(UTC)
    at = _at({})
    assert before <= at <= datetime.now(UTC) and at.tzinfo is not None
