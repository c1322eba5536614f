"""Crash safety: the control plane dies mid-call; Asterisk keeps the call; the restarted
daemon adopts it (or finishes it) with exactly one correct call record and no orphan channel."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from helpers import duration_s, tone_ratio, until
from labtools import CALLER_TONE, PHONE_TONE, ended_record, records_for, unique_caller

from controlplane import stack
from dialplan import labcall

pytestmark = pytest.mark.integration


def talking(platform, caller: str):  # type: ignore[no-untyped-def]
    def ok():  # type: ignore[no-untyped-def]
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    return until(ok, timeout=30, what=f"{caller} to be talking")


def platform_channels(platform) -> str:  # type: ignore[no-untyped-def]
    return stack.platform_instance(platform.settings).cli("core show channels concise")


def test_kill_mid_call_then_restart_adopts_the_call(platform) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(
        did="48221000002", caller_id=caller, tone_hz=CALLER_TONE))
    before = talking(platform, caller)
    time.sleep(2)
    platform.kill_controlplane()  # SIGKILL: no clean-up of any kind
    time.sleep(3)
    # Asterisk still carries the conversation while the control plane is down.
    assert before.call_id in platform_channels(platform)
    platform.start_controlplane()
    time.sleep(3)
    assert labcall.hangup(stack.lab_instance(platform.settings), lab_id)
    row = ended_record(platform, caller)

    assert len(records_for(platform, caller)) == 1
    assert row.call_id == before.call_id and row.answered_at == before.answered_at
    assert row.end_estimated is False and row.hangup_by == "caller"
    assert row.billsec_s >= 7.5  # 2 s + 3 s down + 3 s after the restart
    assert duration_s(row.recording_path) == pytest.approx(row.billsec_s, abs=1.0)
    assert tone_ratio(row.recording_path, CALLER_TONE) > 50
    assert tone_ratio(row.recording_path, PHONE_TONE) > 50
    until(lambda: before.call_id not in platform_channels(platform), timeout=10,
          what="the agent leg to be hung up")


def test_call_that_ends_while_down_is_finished_on_restart(platform) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(
        did="48221000003", caller_id=caller, tone_hz=CALLER_TONE))
    before = talking(platform, caller)
    platform.kill_controlplane()
    hung_up_at = datetime.now(UTC)
    assert labcall.hangup(stack.lab_instance(platform.settings), lab_id)
    time.sleep(4)
    # The agent leg is still up in Asterisk: nobody is steering it.
    assert f"{before.call_id}-agent" in platform_channels(platform)
    platform.start_controlplane()
    row = ended_record(platform, caller)
    assert len(records_for(platform, caller)) == 1
    assert row.status == "ended" and row.answered_at == before.answered_at
    # Nobody listened when the caller hung up, but Asterisk's hang-up log (CEL) knows when.
    assert row.end_estimated is False and row.hangup_by == "caller" and row.hangup_cause == 16
    assert abs((row.ended_at - hung_up_at).total_seconds()) < 1.0
    until(lambda: before.call_id not in platform_channels(platform), timeout=10,
          what="the orphaned agent leg to be hung up")


def test_restart_while_idle_changes_nothing(platform) -> None:  # type: ignore[no-untyped-def]
    platform.kill_controlplane(15)  # SIGTERM: clean stop
    platform.start_controlplane()
    from controlplane.health import check_ari

    until(lambda: _ok(lambda: check_ari(platform.settings)), timeout=20, what="ARI app registered")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did="48221000001", caller_id=caller,
                                                     hangup_after=5))
    assert ended_record(platform, caller).answered_at is not None


def _ok(fn) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn()
        return True
    except Exception:  # noqa: BLE001
        return False
