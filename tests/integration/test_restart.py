"""Crash safety: the control plane dies mid-call; Asterisk keeps the call; the restarted
daemon adopts it (or finishes it) with exactly one correct call record and no orphan channel."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

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


MENU_DID = "48221000003"  # its own phone (the fallback of old) is demo-1003


def _menu_flow() -> dict[str, Any]:
    return {
        "format_version": 1, "id": "restartmenu", "name": "Restart menu", "start": "greet",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 120},
        "variables": {"tier": "none"},
        "nodes": {
            "greet": {"type": "set", "variables": {"tier": "gold"}, "next": "main"},
            "main": {
                "type": "menu", "prompt": {"tts": "For sales press one. For support press two."},
                "options": {"1": {"next": "route"}, "2": {"next": "two"}},
                "timeout_s": 30, "max_retries": 2, "fallback": "bye",
            },
            # the variable set before the crash must still be there after it
            "route": {"type": "condition",
                      "branches": [{"when": {"compare": {"var": "tier", "op": "eq",
                                                         "value": "gold"}}, "next": "one"}],
                      "else": "two"},
            "one": {"type": "transfer", "to": "agent", "target": "1002"},
            "two": {"type": "transfer", "to": "agent", "target": "1001"},
            "bye": {"type": "hangup"},
        },
    }


def _bind_menu(platform, doc: dict[str, Any] | None) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from controlplane.db import make_engine, make_sessionmaker, transaction
    from controlplane.ivr import did_store
    from controlplane.ivr import store as flow_store
    from controlplane.models import Tenant
    from controlplane.seed import DEMO_DOMAIN

    engine = make_engine(platform.settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            if doc is not None:
                version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
                flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
            did_store.bind_did(s, tenant.id, MENU_DID, doc["id"] if doc else None)
    finally:
        engine.dispose()


def _press(platform, lab_id: str, digit: str) -> None:  # type: ignore[no-untyped-def]
    """The lab caller presses a key now (AMI PlayDTMF on its channel)."""
    from controlplane.engine import ami_sync

    settings = platform.settings
    name = labcall.channel_name(stack.lab_instance(settings), f"lab-{lab_id}")
    assert name is not None, "the lab caller is gone"
    _, replies = ami_sync.actions(settings.bind_address, settings.lab.ami, "lab",
                                  settings.secret("lab_ami_password"),
                                  [{"Action": "PlayDTMF", "Channel": name, "Digit": digit,
                                    "Duration": "250"}])
    assert replies[0].get("Response") == "Success", replies


def test_a_caller_in_an_ivr_menu_keeps_their_place_across_a_restart(platform) -> None:  # type: ignore[no-untyped-def]
    import json

    import redis

    from controlplane.calls.ivr_resume import position_key

    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    _bind_menu(platform, _menu_flow())
    try:
        caller = unique_caller()
        lab_id = labcall.call(platform.settings, labcall.CallSpec(
            did=MENU_DID, caller_id=caller, hangup_after=90))

        def in_menu():  # type: ignore[no-untyped-def]
            rows = records_for(platform, caller)
            raw = client.get(position_key(rows[0].call_id)) if rows else None
            frame = json.loads(raw)["frames"][-1] if raw else None
            return (rows[0], frame) if frame and frame["node_id"] == "main" else None

        before, frame = until(in_menu, timeout=30, what=f"{caller} in the menu")
        assert before.phase == "ivr" and frame["variables"]["tier"] == "gold"
        platform.kill_controlplane()  # SIGKILL while the caller listens to the menu
        time.sleep(2)
        platform.start_controlplane()

        def resumed():  # type: ignore[no-untyped-def]
            raw = client.get(position_key(before.call_id))
            now = json.loads(raw)["frames"][-1] if raw else None
            return now if now and now["seq"] > frame["seq"] else None

        # The restarted daemon took the call up at the menu (fresh ids: the prompt again).
        again = until(resumed, timeout=60, what="the menu to be taken up again")
        assert again["node_id"] == "main" and again["variables"]["tier"] == "gold"
        assert records_for(platform, caller)[0].phase == "ivr"  # not sent to the DID's phone
        _press(platform, lab_id, "1")
        row = talking(platform, caller)
        assert row.agent_endpoint == "demo-1002"  # where "1" leads (the fallback is demo-1003)
        assert labcall.hangup(stack.lab_instance(platform.settings), lab_id)
        row = ended_record(platform, caller)
        assert len(records_for(platform, caller)) == 1 and row.call_id == before.call_id
        assert row.agent_endpoint == "demo-1002"
        until(lambda: client.get(position_key(before.call_id)) is None, timeout=10,
              what="the position to be forgotten once the flow ended")
    finally:
        _bind_menu(platform, None)
        client.close()


def test_a_caller_who_entered_while_nobody_listened_is_routed_after_the_restart(platform) -> None:  # type: ignore[no-untyped-def]
    """The StasisStart goes into a frozen control plane's socket and dies with it: no record
    was written, yet the caller is in the app. The next daemon must route them, not leave
    them in silence until they give up."""
    import os
    import signal

    pid = stack.pid_alive(platform.settings, "controlplane")
    assert pid is not None
    caller = unique_caller()
    os.kill(pid, signal.SIGSTOP)  # events are still sent, into a socket nobody reads
    try:
        lab_id = labcall.call(platform.settings, labcall.CallSpec(
            did="48221000001", caller_id=caller, tone_hz=CALLER_TONE))
        until(lambda: caller in platform_channels(platform), timeout=20,
              what="the caller to be in the platform's app")
        assert records_for(platform, caller) == []
    finally:
        platform.kill_controlplane()  # SIGKILL works on a stopped process
    platform.start_controlplane()
    row = talking(platform, caller)  # the DID's phone answered: routed as if just arrived
    assert labcall.hangup(stack.lab_instance(platform.settings), lab_id)
    ended = ended_record(platform, caller)
    assert len(records_for(platform, caller)) == 1
    assert ended.call_id == row.call_id and ended.hangup_by == "caller"
