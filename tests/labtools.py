"""Helpers for tests that place lab calls: unique callers and their call records."""

from __future__ import annotations

import random

from helpers import until
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import CallRecord

CALLER_TONE = 600  # what the customer "says"
PHONE_TONE = 1400  # what the lab desk phone "says" (PHONE_TONE in the lab dialplan)
BARESIP_TONE = 900  # baresip's microphone file


def unique_caller() -> str:
    return f"48600{random.randrange(100000, 999999)}"


def records_for(platform, caller: str) -> list[CallRecord]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(CallRecord).where(CallRecord.caller == caller)))
    finally:
        engine.dispose()


def ended_record(platform, caller: str, timeout: float = 40) -> CallRecord:  # type: ignore[no-untyped-def]
    def done() -> CallRecord | None:
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].status == "ended" else None

    return until(done, timeout=timeout, what=f"call record of {caller} to end")
