"""The toll-fraud guard against the real platform and lab.

A lab desk phone dials an international and a satellite number: both are refused before
anything is dialled, the phone hears why (the spoken refusal, recorded on the lab side),
the call records and the security audit say why, and the lab carrier never sees the call.
The administrator allows international calls through the panel's API: the same number then
goes out. A national (lab) number goes out all along; the caps (calls at once, calls per
hour with its alert) refuse with their own announcement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import soundfile
from helpers import duration_s, until
from labtools import panel_login, records_for
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import CallRecord, Role, SecurityEvent, Tenant, User
from controlplane.models.outbound import OutboundPolicy
from controlplane.passwords import hash_password
from controlplane.security.alerts import ALERTS_STREAM
from controlplane.security.destinations import classify
from controlplane.security.outbound_policy import Policy, Usage, decide
from controlplane.seed import DEMO_DOMAIN
from controlplane.tts import EspeakEngine
from dialplan import labcall
from dialplan.lab import lab_dirs

pytestmark = pytest.mark.integration

PHONE, CALLER = "demo-1008", "1008"  # a lab desk phone no other test uses for its calls
OTHER, OTHER_CALLER = "demo-1007", "1007"
INTERNATIONAL, SATELLITE = "00447700900123", "+881234567890"
ADMIN_PASSWORD = "toll fraud test admin password"
POLICY = "/api/v1/outbound-policy"


@pytest.fixture(scope="module")
def db(platform):  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def tenant_id(db) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """The demo tenant with the default policy, and its admin's password known; the
    defaults are restored afterwards for every other test of the session."""
    with transaction(db) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        admin = s.scalar(select(User).where(User.tenant_id == tenant.id, User.role == Role.ADMIN,
                                            User.login == "admin"))
        admin.password_hash = hash_password(ADMIN_PASSWORD)
        s.execute(delete(OutboundPolicy).where(OutboundPolicy.tenant_id == tenant.id))
        tid = tenant.id
    yield tid
    with transaction(db) as s:
        s.execute(delete(OutboundPolicy).where(OutboundPolicy.tenant_id == tid))


@pytest.fixture(scope="module")
def admin(platform, tenant_id):  # type: ignore[no-untyped-def]
    """The panel (in process, on the platform's database and Redis), logged in as admin."""
    from web import create_app

    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        # (an IPv6 client: the login throttle's IPv4 path fails on Python 3.11, reported)
        client.environ_base["REMOTE_ADDR"] = "::1"
        resp = panel_login(client, f"admin@{DEMO_DOMAIN}", ADMIN_PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with client.session_transaction() as sess:
            client.environ_base["HTTP_X_CSRF_TOKEN"] = sess["csrf"]
        yield client
    app.extensions["centrala"].close()


def ended_call(platform, caller: str, number: str, timeout: float = 40) -> CallRecord:  # type: ignore[no-untyped-def]
    def done() -> CallRecord | None:
        rows = [r for r in records_for(platform, caller) if r.callee == number]
        return rows[-1] if rows and rows[-1].status == "ended" else None

    return until(done, timeout=timeout, interval=0.3, what=f"call record of {number}")


def voiced_s(path: Path) -> float:
    """Seconds of 20 ms frames louder than -40 dBFS (speech, not silence)."""
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    n = rate // 50
    frames = mono[: len(mono) // n * n].reshape(-1, n)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    return float((rms > 10 ** (-40 / 20)).sum() / 50)


def heard_announcement(platform, lab_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """The lab phone's recording of what it heard holds the spoken refusal ``text``."""
    tts = EspeakEngine(platform.settings.runtime_dir / "platform" / "sounds" / "tts")
    spoken = tts.path_for(text, "en").with_suffix(".wav")
    assert spoken.is_file(), f"the refusal {text!r} was never synthesised"
    _, heard = labcall.recordings(platform.settings, lab_id)
    until(lambda: heard.is_file() and heard.stat().st_size > 1000, timeout=20,
          what="the lab phone's recording")
    until(lambda: duration_s(heard) >= 0.8 * duration_s(spoken), timeout=10,
          what="the whole announcement in the recording")
    # the phone heard speech for about as long as the announcement speaks
    assert voiced_s(heard) >= 0.6 * voiced_s(spoken), (voiced_s(heard), voiced_s(spoken))


def carrier_saw(platform, number: str) -> list[Path]:  # type: ignore[no-untyped-def]
    """Calls the lab carrier answered for ``number`` (its 'abroad' extension records them)."""
    recdir, _ = lab_dirs(platform.settings)
    return sorted(recdir.glob(f"out-{number}-*.wav"))


def announcement(number: str, policy: Policy | None = None) -> str:
    """What a caller refused for ``number`` under ``policy`` (default: the defaults) hears."""
    return decide(policy or Policy(), classify(number), Usage(0, 0, 30, 0)).announcement


def test_international_and_satellite_are_refused_and_told_why(platform, db, tenant_id) -> None:  # type: ignore[no-untyped-def]
    for number, why in ((INTERNATIONAL, "international numbers not allowed"),
                        (SATELLITE, "satellite and international network numbers")):
        lab_id = labcall.phone_dials(platform.settings, PHONE, number)
        row = ended_call(platform, CALLER, number)
        assert row.refused_reason is not None and why in row.refused_reason, row.refused_reason
        assert (row.direction, row.trunk) == ("outbound", "lab-carrier")
        assert (row.hangup_cause, row.hangup_by) == (21, "system")
        assert row.dial_target is None  # nothing was dialled
        heard_announcement(platform, lab_id, announcement(number))
        assert carrier_saw(platform, number) == []
        with db() as s:
            event = s.scalar(select(SecurityEvent).where(
                SecurityEvent.kind == "tollfraud.refused",
                SecurityEvent.detail["call_id"].as_string() == row.call_id))
        assert event is not None and event.tenant_id == tenant_id and event.actor == PHONE
        assert event.severity == "warning" and event.detail["number"] == number


def test_a_national_lab_number_goes_out(platform) -> None:  # type: ignore[no-untyped-def]
    labcall.phone_dials(platform.settings, PHONE, "1004321", hangup_after=4)
    row = ended_call(platform, CALLER, "1004321")
    assert row.refused_reason is None and row.answered_at is not None
    assert row.dial_target == "PJSIP/1004321@lab-carrier"


def test_international_goes_out_once_the_admin_allows_it(platform, admin) -> None:  # type: ignore[no-untyped-def]
    resp = admin.put(POLICY, json={"allowed": ["national", "tollfree", "international"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    bad = admin.put(POLICY, json={"allowed": ["international", "lunar"]})
    assert bad.status_code == 422  # a value rule (an unknown class), not a wrong shape
    assert bad.get_json()["error"]["details"]["errors"][0]["field"] == "allowed[1]"
    labcall.phone_dials(platform.settings, PHONE, INTERNATIONAL, hangup_after=4)
    until(lambda: carrier_saw(platform, INTERNATIONAL), timeout=30,
          what="the carrier to answer the international call")
    [row] = until(lambda: [r for r in records_for(platform, CALLER) if r.callee == INTERNATIONAL
                           and r.status == "ended" and r.refused_reason is None], timeout=30,
                  what="the allowed call's record")
    assert row.answered_at is not None and row.dial_target == f"PJSIP/{INTERNATIONAL}@lab-carrier"
    # satellite numbers stay refused
    labcall.phone_dials(platform.settings, PHONE, "+881234567891")
    assert ended_call(platform, CALLER, "+881234567891").refused_reason is not None
    assert carrier_saw(platform, "+881234567891") == []


def test_caps_refuse_with_their_own_announcement_and_the_hourly_cap_alerts(
        platform, admin, db, tenant_id) -> None:  # type: ignore[no-untyped-def]
    # one call at once: a second one while the first talks is refused
    assert admin.put(POLICY, json={"max_concurrent": 1}).status_code == 200
    labcall.phone_dials(platform.settings, OTHER, "1004322", hangup_after=12)
    until(lambda: [r for r in records_for(platform, OTHER_CALLER)
                   if r.callee == "1004322" and r.answered_at is not None], timeout=30,
          what="the first call to be answered")
    lab_id = labcall.phone_dials(platform.settings, PHONE, "1004323")
    row = ended_call(platform, CALLER, "1004323")
    assert row.refused_reason is not None and row.refused_reason.startswith("tenant cap: 1 of 1")
    heard_announcement(platform, lab_id, announcement("1004323", Policy(max_concurrent=0)))
    ended_call(platform, OTHER_CALLER, "1004322")
    # calls per hour: the cap at what was dialled this hour; the next call is refused and an
    # alert is raised (once), in the audit and on the events stream
    used = admin.get(POLICY).get_json()["usage"]["last_hour"]
    assert used >= 3  # the national and international calls above, the first capped call
    assert admin.put(POLICY, json={"max_concurrent": 30, "max_per_hour": used}).status_code == 200
    for number in ("1004324", "1004325"):
        labcall.phone_dials(platform.settings, PHONE, number)
        row = ended_call(platform, CALLER, number)
        assert row.refused_reason is not None and row.refused_reason.startswith("hourly cap")
    with db() as s:
        alerts = s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind == "tollfraud.hourly_cap",
            SecurityEvent.tenant_id == tenant_id)).all()
    assert len(alerts) == 1 and alerts[0].severity == "alert"
    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    try:
        kinds = [json.loads(f[b"data"]).get("kind") for _, f in client.xrange(ALERTS_STREAM)
                 if json.loads(f[b"data"]).get("tenant_id") == tenant_id]
    finally:
        client.close()
    assert "tollfraud.hourly_cap" in kinds
    # the emergency number is never refused, whatever the caps (the lab has no route: it
    # ends unanswered, but it was dialled)
    labcall.phone_dials(platform.settings, PHONE, "112")
    row = ended_call(platform, CALLER, "112")
    assert row.refused_reason is None and row.dial_target == "PJSIP/112@lab-carrier"
