"""Crash safety of live AMD: the Asterisk objects of a detection whose process was killed
(``<id>-amd-snoop``, ``-ref``, ``-media``, ``-bridge``; see ``amd_live.object_ids``) are
hung up and destroyed when the restarted daemon reconnects, and nothing else is touched."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from helpers import until
from labtools import CALLER_TONE, ended_record, records_for, unique_caller

from controlplane import stack
from dialplan import labcall

pytestmark = pytest.mark.integration


def ari(settings, method: str, path: str, **params: str) -> Any:  # type: ignore[no-untyped-def]
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    req = urllib.request.Request(f"{settings.ari_url}{path}{query}", method=method,
                                 headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def ids(settings, what: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {o["id"] for o in ari(settings, "GET", f"/{what}")}


def test_orphan_amd_objects_are_removed_at_restart_and_the_call_goes_on(platform) -> None:  # type: ignore[no-untyped-def]
    settings = platform.settings
    caller = unique_caller()
    lab_id = labcall.call(settings, labcall.CallSpec(did="48221000002", caller_id=caller,
                                                     tone_hz=CALLER_TONE))

    def talking():  # type: ignore[no-untyped-def]
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    call = until(talking, timeout=30, what=f"{caller} to be talking").call_id
    # What a detection on this call would have made (in the AMD app, which the daemon holds),
    # and the bridge of a detection whose call is long gone.
    amd_app = f"{settings.ari_app}-amd"
    ari(settings, "POST", f"/channels/{call}/snoop", spy="in", app=amd_app,
        snoopId=f"{call}-amd-snoop")
    ari(settings, "POST", "/bridges", type="mixing", bridgeId=f"{call}-amd-bridge")
    ari(settings, "POST", "/bridges", type="mixing", bridgeId="campaign-gone-amd-bridge")
    ari(settings, "POST", f"/bridges/{call}-amd-bridge/addChannel", channel=f"{call}-amd-snoop")
    assert f"{call}-amd-snoop" in ids(settings, "channels")
    platform.kill_controlplane()  # SIGKILL: the detection's teardown never runs
    time.sleep(2)
    assert {f"{call}-amd-bridge", "campaign-gone-amd-bridge"} <= ids(settings, "bridges")
    platform.start_controlplane()

    def swept() -> bool:
        return (f"{call}-amd-snoop" not in ids(settings, "channels")
                and not {f"{call}-amd-bridge", "campaign-gone-amd-bridge"} & ids(settings, "bridges"))

    until(swept, timeout=60, what="the AMD leftovers to be removed")
    # The call they tapped is not touched: it is still a conversation, its bridge still there.
    assert records_for(platform, caller)[0].phase == "talking"
    assert call in ids(settings, "channels") and f"{call}-bridge" in ids(settings, "bridges")
    assert labcall.hangup(stack.lab_instance(settings), lab_id)
    row = ended_record(platform, caller)
    assert row.hangup_by == "caller" and row.end_estimated is False
