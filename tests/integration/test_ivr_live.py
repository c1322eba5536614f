"""IVR flows on live calls: DTMF menus, digit collection with an HTTP look-up, versions.

A lab caller dials a DID bound to a published flow; the control plane runs the
flow over ARI (TTS by espeak-ng) and connects the caller where the flow says.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from helpers import tone_share
from labtools import PHONE_TONE, ended_record, records_for, unique_caller
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.ivr import calendar_store, did_store
from controlplane.ivr import exceptions as ivr_errors
from controlplane.ivr import store as flow_store
from controlplane.models import Tenant
from controlplane.seed import DEMO_DOMAIN
from controlplane.tts import TtsMeter
from dialplan import labcall

pytestmark = pytest.mark.integration
CRM_PORT = 28501
DID = "48221000003"


def menu_flow(one_goes_to: str) -> dict[str, Any]:
    return {
        "format_version": 1, "id": "menu", "name": "Menu", "start": "main",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "nodes": {
            "main": {
                "type": "menu",
                "prompt": {"tts": "For sales press one. For support press two."},
                "options": {"1": {"next": "one"}, "2": {"next": "two"}},
                "timeout_s": 8, "max_retries": 1,
                "invalid_prompt": {"sound": "option-is-invalid"},
                "fallback": "bye",
            },
            "one": {"type": "transfer", "to": "agent", "target": one_goes_to},
            "two": {"type": "transfer", "to": "agent", "target": "1001"},
            "bye": {"type": "hangup"},
        },
    }


def account_flow(crm_url: str) -> dict[str, Any]:
    return {
        "format_version": 1, "id": "account", "name": "Account", "start": "ask",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "nodes": {
            "ask": {
                "type": "collect", "prompt": {"tts": "Enter your account number and hash."},
                "variable": "account", "min_digits": 4, "max_digits": 8, "terminator": "#",
                "timeout_s": 8, "inter_digit_timeout_s": 3, "max_retries": 1,
                "next": "confirm", "fallback": "bye",
            },
            "confirm": {"type": "play", "prompt": {"tts": "Account {account}."}, "next": "lookup"},
            "lookup": {
                "type": "http", "method": "GET", "url": crm_url + "/accounts/{account}",
                "timeout_s": 2, "fields": {"tier": "/tier"},
                "next": "route", "on_failure": "general",
            },
            "route": {
                "type": "condition",
                "branches": [{"when": {"compare": {"var": "tier", "op": "eq", "value": "vip"}},
                              "next": "vip"}],
                "else": "general",
            },
            "vip": {"type": "transfer", "to": "agent", "target": "1002"},
            "general": {"type": "transfer", "to": "agent", "target": "1001"},
            "bye": {"type": "hangup"},
        },
    }


def deploy(platform, doc: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
            flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
            did_store.bind_did(s, tenant.id, DID, doc["id"])
    finally:
        engine.dispose()


@pytest.fixture
def unbind(platform) -> Iterator[None]:  # type: ignore[no-untyped-def]
    yield
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        did_store.bind_did(s, tenant.id, DID, None)
    engine.dispose()


def tts_usage(platform) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            month = datetime.now(UTC).strftime("%Y-%m")
            return TtsMeter().usage(s, tenant.id, month)
    finally:
        engine.dispose()


class Crm(BaseHTTPRequestHandler):
    """The tenant's CRM: account 4242 is a VIP, 1313 answers too slowly, others are regular."""

    def do_GET(self) -> None:  # noqa: N802
        account = self.path.rsplit("/", 1)[-1]
        if account == "1313":
            time.sleep(4)
        body = json.dumps({"tier": "vip" if account == "4242" else "regular"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def crm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", CRM_PORT), Crm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{CRM_PORT}"
    server.shutdown()
    server.server_close()


def call(platform, dtmf: str, at: float = 3.0, hangup_after: float = 12) -> str:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, dtmf=dtmf, dtmf_at=at, hangup_after=hangup_after))
    return caller


def test_menu_dtmf_transfers_to_the_chosen_agent(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    deploy(platform, menu_flow("1002"))
    caller = call(platform, "1")
    row = ended_record(platform, caller)
    assert row.agent_endpoint == "demo-1002" and row.answered_at is not None
    assert tone_share(row.recording_path, PHONE_TONE) > 0.2
    press2 = call(platform, "2")
    assert ended_record(platform, press2).agent_endpoint == "demo-1001"


def test_no_input_retries_then_falls_back(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    deploy(platform, menu_flow("1002"))
    caller = call(platform, "", hangup_after=40)
    row = ended_record(platform, caller, timeout=60)
    # two menu attempts of 8 s each plus prompts, then the fallback hangs up: no agent rung
    assert row.answered_at is None and row.agent_endpoint is None
    assert row.hangup_by == "caller" or row.duration_s < 38
    assert 16 < row.duration_s < 38


def test_collected_account_is_looked_up_and_routed(platform, unbind, crm) -> None:  # type: ignore[no-untyped-def]
    deploy(platform, account_flow(crm))
    billed_before = tts_usage(platform)
    vip = call(platform, "4242#")
    regular = call(platform, "55555#")
    slow = call(platform, "1313#")
    assert ended_record(platform, vip).agent_endpoint == "demo-1002"
    assert ended_record(platform, regular).agent_endpoint == "demo-1001"
    # the CRM answers after 4 s; the node's 2 s timeout takes its failure branch
    assert ended_record(platform, slow).agent_endpoint == "demo-1001"
    # "Account {account}." bills only the substituted digits: 4 + 5 + 4
    assert tts_usage(platform) - billed_before == 13


def test_a_call_keeps_its_version_when_a_new_one_is_published(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    deploy(platform, menu_flow("1002"))
    old = call(platform, "1", at=6)  # still listening to the menu when v2 goes live
    time.sleep(2.5)
    deploy(platform, menu_flow("1003"))
    new = call(platform, "1")
    assert ended_record(platform, old).agent_endpoint == "demo-1002"
    assert ended_record(platform, new).agent_endpoint == "demo-1003"
    assert len(records_for(platform, old)) == 1


def test_subflow_returns_a_choice_the_main_flow_routes_on(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    sub = {
        "format_version": 1, "id": "pick", "kind": "subflow", "name": "Pick", "start": "menu",
        "settings": {"language": "en-US", "voice": "en"},
        "variables": {"choice": "none"},
        "nodes": {
            "menu": {"type": "menu", "prompt": {"tts": "Press one for sales."},
                     "options": {"1": {"next": "sales"}}, "timeout_s": 8, "max_retries": 0,
                     "fallback": "done"},
            "sales": {"type": "set", "variables": {"choice": "sales"}, "next": "done"},
            "done": {"type": "return"},
        },
    }
    main = {
        "format_version": 1, "id": "main", "name": "Main", "start": "ask",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "variables": {"choice": "none"},
        "nodes": {
            "ask": {"type": "subflow", "flow": "pick", "outputs": ["choice"], "next": "route"},
            "route": {"type": "condition",
                      "branches": [{"when": {"compare": {"var": "choice", "op": "eq",
                                                         "value": "sales"}}, "next": "sales"}],
                      "else": "other"},
            "sales": {"type": "transfer", "to": "agent", "target": "1002"},
            "other": {"type": "transfer", "to": "agent", "target": "1001"},
        },
    }
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        v = flow_store.save_draft(s, tenant.id, "pick", sub)
        flow_store.publish(s, v.flow_id, v.version, tenant_id=tenant.id)
    engine.dispose()
    deploy(platform, main)
    assert ended_record(platform, call(platform, "1")).agent_endpoint == "demo-1002"


def test_office_closure_in_the_tenant_calendar_takes_the_closed_branch(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    """The after-hours/holiday branch on a live call: today is in the tenant's calendar."""
    from zoneinfo import ZoneInfo

    doc = {
        "format_version": 1, "id": "hours", "name": "Hours", "start": "closed_today",
        "settings": {"language": "en-US", "voice": "en", "timezone": "Europe/Warsaw",
                     "max_duration_s": 60},
        "nodes": {
            "closed_today": {
                "type": "condition",
                "branches": [{"when": {"holiday": {"public": False, "calendars": ["closures"]}},
                              "next": "closed"}],
                "else": "open",
            },
            "closed": {"type": "transfer", "to": "agent", "target": "1003"},
            "open": {"type": "transfer", "to": "agent", "target": "1001"},
        },
    }
    deploy(platform, doc)
    assert ended_record(platform, call(platform, "", hangup_after=6)).agent_endpoint == "demo-1001"
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
        calendar_store.add_holiday(s, tenant.id, "closures", today, "stocktaking")
    engine.dispose()
    assert ended_record(platform, call(platform, "", hangup_after=6)).agent_endpoint == "demo-1003"


def test_uploaded_prompt_is_played_to_the_caller(platform, unbind, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A tenant's own recording (any format sox reads) is converted, validated and played."""
    import subprocess

    from controlplane import audio_store
    from dialplan.lab import lab_dirs

    source = tmp_path / "greeting.flac"  # a 700 Hz "greeting", deliberately not 8 kHz WAV
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(source), "synth", "2", "sine",
                    "700", "vol", "0.3"], check=True)
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        with pytest.raises(audio_store.AudioRejected):
            audio_store.upload(s, platform.settings, tenant.id, "junk", b"not audio at all")
        audio_store.upload(s, platform.settings, tenant.id, "greeting", source.read_bytes())
    engine.dispose()
    doc = {
        "format_version": 1, "id": "own_prompt", "name": "Own prompt", "start": "hello",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "nodes": {
            "hello": {"type": "play", "prompt": {"audio": "greeting"}, "next": "agent"},
            "agent": {"type": "transfer", "to": "agent", "target": "1001"},
        },
    }
    deploy(platform, doc)
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                              hangup_after=7))
    row = ended_record(platform, caller)
    assert row.agent_endpoint == "demo-1001"
    _, heard = labcall.recordings(platform.settings, lab_id)
    # 2 s of greeting among ~5 s of the agent's tone: a clear share; no other source is near 700 Hz
    assert tone_share(heard, 700) > 0.05
    assert lab_dirs(platform.settings)[0].exists()


def test_flow_using_a_missing_upload_is_refused(platform) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "format_version": 1, "id": "no_prompt", "name": "Missing", "start": "hello",
        "settings": {"language": "en-US", "voice": "en"},
        "nodes": {"hello": {"type": "play", "prompt": {"audio": "nope"}, "next": "bye"},
                  "bye": {"type": "hangup"}},
    }
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s, pytest.raises(ivr_errors.FlowInvalid) as info:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        flow_store.save_draft(s, tenant.id, doc["id"], doc)
    engine.dispose()
    assert any("nope" in e.message and e.pointer.startswith("/nodes/hello") for e in info.value.errors)


def test_callback_node_stores_the_request(platform, unbind) -> None:  # type: ignore[no-untyped-def]
    from controlplane.models import CallbackRequest

    doc = {
        "format_version": 1, "id": "cb", "name": "Callback", "start": "menu",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "nodes": {
            "menu": {"type": "menu", "prompt": {"tts": "Press one to be called back."},
                     "options": {"1": {"next": "callback"}}, "timeout_s": 8, "max_retries": 0,
                     "fallback": "bye"},
            "callback": {"type": "callback", "queue": "support", "number": "{caller_id}",
                         "note": "asked from the IVR", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    deploy(platform, doc)
    caller = call(platform, "1")
    row = ended_record(platform, caller)
    engine = make_engine(platform.settings.database_url)
    with make_sessionmaker(engine)() as s:
        requests = list(s.scalars(select(CallbackRequest).where(CallbackRequest.call_id == row.call_id)))
    engine.dispose()
    assert [(r.number, r.queue, r.status) for r in requests] == [(caller, "support", "open")]
