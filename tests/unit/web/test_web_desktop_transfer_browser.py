"""The agent desktop's Transfer control in Chromium: the card of a talking queue call offers
the tenant's queues, the colleagues and a number; "Consult first" sends the consultation, the
bar follows the live call (ringing, then talking), and "Complete the transfer" ends it. In
Polish, as an agent sees it.

The daemon is a stand-in answering the ``calls.*`` commands and writing what the daemon would
into the live call; on real Asterisk with desk phones see
``tests/integration/test_transfer_live.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import delete

from controlplane.bus import COMMANDS_STREAM, EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.db import transaction
from controlplane.models import CallRecord, Tenant
from controlplane.seed import DEMO_DOMAIN
from tests.unit.web.conftest import serve_app, sign_in

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
AGENT1 = f"agent1@{DEMO_DOMAIN}"
NUMBER = "601234567"


class Daemon:
    """Answers ``calls.consult_*`` like the daemon and shows the consultation on the call."""

    def __init__(self, port: int, call: LiveCall) -> None:
        self.client = redis.Redis(port=port, decode_responses=True)
        self.call = call
        self.seen: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def show(self, consult: dict[str, Any] | None) -> None:
        self.call = dataclasses.replace(self.call, consult=consult)
        self.client.hset(LIVE_CALLS_KEY, self.call.call_id, self.call.to_json())
        self.client.xadd(EVENTS_STREAM, event_fields("call.talking", call_id=self.call.call_id))

    def _run(self) -> None:
        newest = self.client.xrevrange(COMMANDS_STREAM, count=1)
        last = newest[0][0] if newest else "0-0"
        while not self.stop.is_set():
            for _, entries in self.client.xread({COMMANDS_STREAM: last}, block=100) or []:
                for entry_id, fields in entries:
                    last = entry_id
                    cmd = json.loads(fields["data"])
                    self.seen.append(cmd)
                    if cmd["cmd"] == "calls.consult_number":
                        self.show({"target": cmd["number"], "answered": False})
                    elif cmd["cmd"] == "calls.consult_end":
                        self.show(None)
                    self.client.lpush(cmd["reply"], json.dumps(
                        {"ok": True, "call_id": cmd["call_id"], "consult": "x"}))


@pytest.fixture
def desk(app, world, redis_client, redis_port) -> Iterator[tuple[str, Daemon]]:  # type: ignore[no-untyped-def]
    app.config.update(SSE_MAX_AGE_S=60.0, SSE_BLOCK_MS=500)
    factory = app.extensions["centrala"].sessions
    call_id = "xfer-" + uuid.uuid4().hex[:8]
    started = datetime.now(UTC) - timedelta(seconds=40)
    with transaction(factory) as s:
        s.get(Tenant, world.demo_tenant).webphone_enabled = False
        s.add(CallRecord(call_id=call_id, tenant_id=world.demo_tenant, direction="inbound",
                         status="active", phase="talking", queue="Sprzedaż", caller="48221234567",
                         callee="48221000001", did="48221000001", caller_channel=call_id,
                         agent_endpoint=world.agent1_endpoint, started_at=started))
    call = LiveCall(call_id, world.demo_tenant, "inbound", "talking", "48221234567",
                    "48221000001", "48221000001", world.agent1_endpoint, started.isoformat(),
                    (started + timedelta(seconds=10)).isoformat())
    redis_client.hset(LIVE_CALLS_KEY, call_id, call.to_json())
    daemon = Daemon(redis_port, call)
    try:
        with serve_app(app) as base:
            yield base, daemon
    finally:
        daemon.stop.set()
        daemon.thread.join(2)
        daemon.client.close()
        redis_client.hdel(LIVE_CALLS_KEY, call_id)
        with transaction(factory) as s:
            s.execute(delete(CallRecord).where(CallRecord.call_id == call_id))
            s.get(Tenant, world.demo_tenant).webphone_enabled = True


def _until(fn: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_consult_a_number_then_complete_from_the_card(desk, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    base, daemon = desk
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(locale="pl-PL", viewport={"width": 1280, "height": 900})
            sign_in(page, base, AGENT1)
            page.goto(f"{base}/agent")
            form = page.locator("#dk-transfer")
            _until(form.is_visible, "the transfer control on the talking call's card")
            labels = page.locator("#dk-transfer-queue option").all_text_contents()
            assert "Numer telefonu…" in labels and len(labels) >= 2, labels
            assert page.locator("#dk-transfer-agents option").count() >= 1  # colleagues
            page.select_option("#dk-transfer-queue", "number")
            number = page.locator("#dk-transfer-number")
            assert number.is_visible()
            number.fill("601 234 567")
            page.get_by_role("button", name="Najpierw konsultacja").click()
            bar = page.locator("#dk-consulting")
            _until(bar.is_visible, "the consultation bar")
            assert "dzwonię do: 601234567" in (page.locator("#dk-consult-state").text_content()
                                              or "")
            complete = page.get_by_role("button", name="Dokończ przekazanie")
            assert complete.is_disabled()  # not answered yet
            daemon.show({"target": NUMBER, "answered": True})
            _until(complete.is_enabled, "complete enabled once answered")
            if os.environ.get("CENTRALA_SHOTS"):
                page.screenshot(path=str(Path(os.environ["CENTRALA_SHOTS"])
                                         / "desktop-consult-pl.png"), full_page=True)
            complete.click()
            _until(lambda: not bar.is_visible(), "the bar gone")
        finally:
            browser.close()
    sent = [(c["cmd"], c.get("number") or c.get("action")) for c in daemon.seen]
    assert sent == [("calls.consult_number", NUMBER), ("calls.consult_end", "complete")], sent
