"""supervise.js in Chromium: the supervisor starts, switches and stops supervision from the
live calls page and the page never reloads (a webphone call in it would end); the bar
follows the session by itself (the phone answered, the call ended); refusals in Polish.

The daemon is the stand-in of ``test_web_supervision`` (it answers ``supervision`` commands
and writes the rows); on real Asterisk, with the webphone, see
``tests/integration/test_supervision_browser_live.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.bus import LIVE_CALLS_KEY, LiveCall
from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.supervision import store
from tests.unit.web.conftest import serve_app, sign_in
from tests.unit.web.test_web_supervision import StandIn

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium"),
    # the live page's SSE thread closes its socket when it next wakes, maybe after the server
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
CALL = "platform-77.1"


@pytest.fixture
def panel(app, world, redis_client, redis_port, demo_in_polish) -> Iterator[tuple[str, StandIn]]:  # type: ignore[no-untyped-def]
    """The panel on a free port, a talking call on the live calls page, the stand-in daemon;
    webphones off for the tenant (this tier has no Asterisk to register with)."""
    app.config.update(SSE_MAX_AGE_S=60.0, SSE_BLOCK_MS=1000)
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        s.get(Tenant, world.demo_tenant).webphone_enabled = False
    redis_client.hset(LIVE_CALLS_KEY, CALL, LiveCall(
        CALL, world.demo_tenant, "inbound", "talking", "48600100200", "48221000001",
        "48221000001", "demo-1001", "2026-01-05T10:00:00+00:00").to_json())
    daemon = StandIn(redis_port, factory)
    try:
        with serve_app(app) as base:
            yield base, daemon
    finally:
        daemon.stop.set()
        daemon.thread.join(2)
        daemon.client.close()
        redis_client.hdel(LIVE_CALLS_KEY, CALL)
        with transaction(factory) as s:
            s.get(Tenant, world.demo_tenant).webphone_enabled = True


def _until(fn: Any, what: str, timeout: float = 10) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_start_switch_and_stop_in_place(app, panel, person) -> None:  # type: ignore[no-untyped-def]
    base = panel[0]
    factory = app.extensions["centrala"].sessions
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(locale="pl-PL")
            sign_in(page, base, person[1])
            page.goto(f"{base}/calls/live")
            page.evaluate("window.sameDocument = true")  # gone if the page reloads
            bar = page.locator("#supervision-bar")
            assert not bar.is_visible()
            row = page.locator("#live-calls tbody tr", has_text="48600100200")
            row.get_by_role("button", name="Podsłuchaj").click()
            _until(lambda: bar.is_visible() and bar.get_attribute("data-mode") == "listen",
                   "the bar, listening")
            assert page.locator("#supervision-dialing").is_visible()  # the phone rings
            assert page.locator("#supervision-mode").text_content() == "podsłuch"
            sid = int(bar.get_attribute("data-session") or 0)
            bar.get_by_role("button", name="Podpowiadaj").click()
            _until(lambda: bar.get_attribute("data-mode") == "whisper", "whispering")
            assert bar.get_by_role("button", name="Podpowiadaj").is_disabled()
            store.mark_active(factory, sid)  # the daemon: the phone answered
            _until(lambda: not page.locator("#supervision-dialing").is_visible(),
                   "the bar seeing the phone answered")
            bar.get_by_role("button", name="Zakończ nadzór").click()
            _until(lambda: not bar.is_visible(), "the bar gone")
            with factory() as s:
                row_ = store.get(s, person_tenant(app, person[0]), sid)
                assert row_ is not None and (row_.modes, row_.state) == ("listen,whisper", "ended")
            # the call ends on its own: the bar follows
            row.get_by_role("button", name="Włącz się").click()
            _until(lambda: bar.get_attribute("data-mode") == "barge", "barging")
            store.end_session(factory, int(bar.get_attribute("data-session") or 0),
                              "call_ended", "test")
            _until(lambda: not bar.is_visible(), "the bar gone with the call")
            assert page.evaluate("window.sameDocument") is True
        finally:
            browser.close()


def test_a_refusal_is_said_in_the_users_language(panel, person) -> None:  # type: ignore[no-untyped-def]
    base, daemon = panel
    daemon.refuse = "not_on_call"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(locale="pl-PL")
            sign_in(page, base, person[1])
            page.goto(f"{base}/calls/live")
            page.evaluate("window.sameDocument = true")
            page.locator("#live-calls tbody tr", has_text="48600100200").get_by_role(
                "button", name="Podpowiadaj").click()
            problem = page.locator("#supervision-error")
            _until(problem.is_visible, "the refusal shown")
            assert problem.text_content() == "Nadzór odrzucony: nikt nie rozmawia teraz z agentem"
            assert not page.locator("#supervision-bar").is_visible()
            assert page.evaluate("window.sameDocument") is True
        finally:
            browser.close()


def person_tenant(app, user_id: int) -> int:  # type: ignore[no-untyped-def]
    from controlplane.models import User
    with app.extensions["centrala"].sessions() as s:
        return int(s.get(User, user_id).tenant_id)
