"""The first call, end to end against real Asterisk and the lab.

A lab caller dials a DID → Stasis → prompt → bridged to the agent phone bound to
the DID → the phone answers → audio both ways → recorded → hang-up → exact CDR.
"""

from __future__ import annotations

import pytest
from helpers import duration_s, sound_report, tone_ratio, tone_share, until
from labtools import (
    BARESIP_TONE,
    CALLER_TONE,
    PHONE_TONE,
    ended_record,
    records_for,
    unique_caller,
)
from sqlalchemy import func, select

from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import CallRecord
from dialplan import labcall
from dialplan.lab import lab_dirs

pytestmark = pytest.mark.integration

def test_first_call_is_bridged_recorded_and_exact(platform) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(
        did="48221000001", caller_id=caller, tone_hz=CALLER_TONE, hangup_after=7))
    row = ended_record(platform, caller)

    assert len(records_for(platform, caller)) == 1
    assert row.direction == "inbound"
    assert (row.did, row.callee, row.trunk) == ("48221000001", "48221000001", "lab-carrier")
    assert row.agent_endpoint == "demo-1001"
    assert row.answered_at is not None and row.ended_at is not None
    assert row.started_at < row.answered_at < row.ended_at
    assert row.duration_s == pytest.approx((row.ended_at - row.started_at).total_seconds(), abs=0.01)
    assert row.billsec_s == pytest.approx((row.ended_at - row.answered_at).total_seconds(), abs=0.01)
    # The caller hung up 7 s after the platform answered; the prompt and ringing come first.
    assert 7.0 - 0.5 <= row.duration_s <= 7.0 + 1.5
    assert 2.0 <= row.billsec_s < row.duration_s
    assert row.hangup_by == "caller" and row.hangup_cause == 16
    assert row.end_estimated is False

    # The recording is playable, as long as the conversation, and holds both voices.
    assert row.recording_path
    until(lambda: duration_s(row.recording_path) > 1, timeout=10, what="recording to be written")
    assert duration_s(row.recording_path) == pytest.approx(row.billsec_s, abs=1.0)
    assert tone_ratio(row.recording_path, CALLER_TONE) > 50
    assert tone_ratio(row.recording_path, PHONE_TONE) > 50

    # Audio flowed both ways: each end heard the other's tone.
    recdir, _ = lab_dirs(platform.settings)
    _, caller_heard = labcall.recordings(platform.settings, lab_id)
    phone_heard = recdir / f"phone-{row.call_id}-heard.wav"
    until(lambda: caller_heard.exists() and phone_heard.exists(), timeout=10, what="lab recordings")
    # Each side hears mostly the other (a mixing bridge leaves a faint residue of one's own voice).
    assert tone_share(caller_heard, PHONE_TONE) > 0.5 > 0.01 > tone_share(caller_heard, CALLER_TONE), \
        sound_report(caller_heard)
    assert tone_share(phone_heard, CALLER_TONE) > 0.5 > 0.01 > tone_share(phone_heard, PHONE_TONE), \
        sound_report(phone_heard)


def test_baresip_answers_as_an_agent_phone(platform) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(
        did="48221000009", caller_id=caller, tone_hz=CALLER_TONE, hangup_after=6))
    row = ended_record(platform, caller)
    assert row.agent_endpoint == "demo-1009" and row.answered_at is not None
    assert tone_ratio(row.recording_path, BARESIP_TONE) > 50
    assert tone_ratio(row.recording_path, CALLER_TONE) > 50


def test_agent_phone_dials_out_through_the_trunk(platform) -> None:  # type: ignore[no-untyped-def]
    labcall.phone_dials(platform.settings, "demo-1003", "1001234", hangup_after=5)

    def outbound() -> CallRecord | None:
        rows = [r for r in records_for(platform, "1003") if r.callee == "1001234"]
        return rows[0] if rows and rows[0].status == "ended" else None

    row = until(outbound, timeout=30, what="outbound call record")
    assert row.direction == "outbound" and row.trunk == "lab-carrier"
    assert row.agent_endpoint == "demo-1003" and row.answered_at is not None
    assert row.billsec_s > 1


def test_busy_and_unallocated_numbers_end_unanswered(platform) -> None:  # type: ignore[no-untyped-def]
    for number, causes in (("4001234", {17}), ("5001234", {1, 3})):
        labcall.phone_dials(platform.settings, "demo-1002", number)

        def ended(number: str = number) -> CallRecord | None:
            rows = [r for r in records_for(platform, "1002") if r.callee == number]
            return rows[0] if rows and rows[0].status == "ended" else None

        row = until(ended, timeout=30, what=f"record of call to {number}")
        assert row.answered_at is None
        assert row.hangup_cause in causes, (number, row.hangup_cause, row.hangup_cause_txt)


def test_no_channel_left_behind(platform) -> None:  # type: ignore[no-untyped-def]
    from controlplane import stack

    instance = stack.platform_instance(platform.settings)
    until(lambda: "0 active channels" in instance.cli("core show channels"), timeout=20,
          what="every platform channel to be gone")
    engine = make_engine(platform.settings.database_url)
    with make_sessionmaker(engine)() as s:
        active = s.scalar(select(func.count()).select_from(CallRecord).where(CallRecord.status == "active"))
    engine.dispose()
    assert active == 0


def test_callers_who_give_up_at_once_leave_no_open_record(platform) -> None:  # type: ignore[no-untyped-def]
    """A caller gone while the platform is still looking up the DID must still end the call."""
    callers = []
    for ring_ms in (5, 5, 10, 20, 50, 100, 200, 5, 10, 20):
        caller = unique_caller()
        callers.append(caller)
        labcall.call(platform.settings, labcall.CallSpec(did="48221000001", caller_id=caller,
                                                         ring_timeout_s=ring_ms / 1000,
                                                         hangup_after=3))

    def all_closed() -> bool:
        rows = [r for c in callers for r in records_for(platform, c)]
        return all(r.status == "ended" for r in rows)

    until(all_closed, timeout=30, what="every short-lived call to be closed")
    from controlplane import stack

    instance = stack.platform_instance(platform.settings)
    until(lambda: "0 active channels" in instance.cli("core show channels"), timeout=20,
          what="no channel left")
