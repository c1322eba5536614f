"""Models, migrations and call-record persistence on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sqlalchemy import func, select

from controlplane import stack
from controlplane.calls import machine as m
from controlplane.calls import records
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.jobs.recordings import verify_recording
from controlplane.models import CallRecord, Tenant, User
from controlplane.passwords import verify_password
from controlplane.seed import DEMO_DOMAIN, seed_demo


@pytest.fixture
def factory(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "rt"),
                              "CENTRALA_DATABASE_URL": db_url})
    stack.database(settings)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


T0 = datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)


def state(**kw) -> m.CallState:  # type: ignore[no-untyped-def]
    base = m.CallState("c-1", m.Phase.TALKING, 1, "inbound", "48600", "4822", "4822", "lab",
                       "demo-1001", T0, None, "PJSIP/demo-1001", agent_alive=True,
                       answered_at=T0 + timedelta(seconds=3), recording="c-1")
    return replace(base, **kw)


def test_seed_is_idempotent_and_login_works(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    login = seed_demo(factory, tmp_path / "rt", 5080)
    again = seed_demo(factory, tmp_path / "rt", 5080)
    assert login == again
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 1
        admin = s.scalar(select(User).where(User.login == "admin"))
        assert admin.tenant.domain == DEMO_DOMAIN
        assert verify_password(admin.password_hash, login.password)
        assert not verify_password(admin.password_hash, login.password + "x")


def test_call_record_upsert_never_doubles_and_keeps_utc(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rec = tmp_path / "rec"
    records.save(factory, state(), rec)
    records.save(factory, state(), rec)
    end = T0 + timedelta(seconds=65, milliseconds=500)
    final = state(phase=m.Phase.ENDED, ended_at=end, hangup_cause=16, hangup_cause_txt="Normal Clearing",
                  hangup_by="caller", caller_alive=False, agent_alive=False)
    records.save(factory, final, rec)
    with factory() as s:
        rows = list(s.scalars(select(CallRecord)))
    assert len(rows) == 1
    row = rows[0]
    assert row.status == "ended" and row.started_at == T0 and row.started_at.tzinfo is not None
    assert row.duration_s == 65.5 and row.billsec_s == 62.5
    assert row.recording_path == str(rec / "c-1.wav")
    assert records.active(factory) == []


def test_active_record_round_trips_to_machine_state(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records.save(factory, state(), tmp_path)
    [row] = records.active(factory)
    restored = records.state_from_record(row)
    assert restored.phase == m.Phase.TALKING and restored.agent_alive and restored.caller_alive
    assert restored.answered_at == T0 + timedelta(seconds=3)
    assert restored.dial == "PJSIP/demo-1001"


def test_verify_recording_job_stores_duration(factory, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records.save(factory, state(phase=m.Phase.ENDED, ended_at=T0 + timedelta(seconds=5)), tmp_path)
    assert verify_recording("c-1", db_url) is None  # no file yet: reported, not raised
    soundfile.write(str(tmp_path / "c-1.wav"), np.zeros(8000 * 2, dtype=np.int16), 8000)
    assert verify_recording("c-1", db_url) == 2.0
    with factory() as s:
        assert s.scalar(select(CallRecord.recording_duration_s)) == 2.0


def test_recording_metadata_row_follows_the_call(factory, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from controlplane.models import CallRecording

    queued = state(queue="sales")
    records.save(factory, queued, tmp_path)
    records.save(factory, queued, tmp_path)  # saved again: still one row
    with factory() as s:
        [rec] = s.scalars(select(CallRecording)).all()
        assert (rec.policy, rec.status, rec.queue) == ("always", "recording", "sales")
        assert rec.started_at == T0 + timedelta(seconds=3) and rec.path == str(tmp_path / "c-1.wav")
    records.save(factory, replace(queued, phase=m.Phase.ENDED, ended_at=T0 + timedelta(seconds=13)),
                 tmp_path)
    with factory() as s:
        rec = s.scalars(select(CallRecording)).one()
        assert rec.status == "done" and rec.duration_s == 10.0
    verify_recording("c-1", db_url)  # no file: Asterisk left nothing
    with factory() as s:
        assert s.scalars(select(CallRecording)).one().status == "missing"
    soundfile.write(str(tmp_path / "c-1.wav"), np.zeros(8000 * 4, dtype=np.int16), 8000)
    verify_recording("c-1", db_url)
    with factory() as s:
        rec = s.scalars(select(CallRecording)).one()
        assert (rec.status, rec.duration_s) == ("done", 4.0)


def test_on_demand_and_direct_recordings_say_so(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from controlplane.models import CallRecording

    talking = state(queue="sales", recording=None)
    records.save(factory, talking, tmp_path)  # not recorded yet: no row
    at = T0 + timedelta(seconds=20)
    records.start_on_demand(factory, talking, tmp_path, "agent:demo-1001", at)
    records.save(factory, replace(talking, recording="c-1"), tmp_path)
    records.save(factory, replace(state(), call_id="c-2", recording="c-2"), tmp_path)
    with factory() as s:
        rows = {r.call_id: r for r in s.scalars(select(CallRecording))}
    assert (rows["c-1"].policy, rows["c-1"].started_by, rows["c-1"].started_at) == (
        "on_demand", "agent:demo-1001", at)
    assert rows["c-2"].policy == "direct"


def test_platform_answer_and_carrier_billing_are_stored_apart_from_the_agents(  # type: ignore[no-untyped-def]
        factory, tmp_path: Path) -> None:
    """An IVR-only call: answered by the platform, billed by the carrier, no agent."""
    ivr = state(call_id="c-ivr", phase=m.Phase.IVR, dial=None, agent_endpoint=None,
                agent_alive=False, answered_at=None, recording=None,
                platform_answered_at=T0 + timedelta(seconds=1))
    records.save(factory, ivr, tmp_path)
    [row] = records.active(factory)
    assert records.state_from_record(row).platform_answered_at == T0 + timedelta(seconds=1)
    assert row.carrier_billsec_s is None  # known at the end only
    records.save(factory, replace(ivr, phase=m.Phase.ENDED, caller_alive=False,
                                  ended_at=T0 + timedelta(seconds=5, milliseconds=250)), tmp_path)
    # queued and answered by an agent: both answers, the carrier's seconds the longer
    records.save(factory, state(platform_answered_at=T0, phase=m.Phase.ENDED,
                                ended_at=T0 + timedelta(seconds=13)), tmp_path)
    with factory() as s:
        rows = {r.call_id: r for r in s.scalars(select(CallRecord))}
    ivr_row, agent_row = rows["c-ivr"], rows["c-1"]
    assert ivr_row.answered_at is None and ivr_row.billsec_s == 0.0
    assert ivr_row.platform_answered_at == T0 + timedelta(seconds=1)
    assert ivr_row.carrier_billsec_s == 4.25
    assert (agent_row.platform_answered_at, agent_row.answered_at) == (
        T0, T0 + timedelta(seconds=3))
    assert (agent_row.carrier_billsec_s, agent_row.billsec_s) == (13.0, 10.0)
