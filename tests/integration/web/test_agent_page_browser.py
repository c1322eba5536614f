"""The agent page in headless Chromium against a real panel process: "my status" is painted
from the desktop card's stream (one SSE per agent page, woken by the panel's card waker)
and stops polling ``/api/v1/agents/me`` while that stream delivers; a status change the
ACD writes (its live row, then ``agent.status``) shows without a reload."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.bus import EVENTS_STREAM, acd_key, event_fields
from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import Tenant, User
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"


def test_my_status_follows_the_card_stream_without_polling(  # type: ignore[no-untyped-def]
        server: str, password: str, settings: Any, redis_client: Any) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        agent = s.scalar(select(User.id).where(User.tenant_id == tenant, User.login == "agent2"))
    engine.dispose()
    key = acd_key(tenant, "agents")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            page.goto(server + "/login")
            page.fill("input[name=address]", f"agent2@{DEMO_DOMAIN}")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(server + "/agent")
            page.wait_for_selector("#desktop[data-live='1']", timeout=15_000)
            status = page.locator("#agent-me [data-field=status]")
            redis_client.hset(key, str(agent), json.dumps({
                "agent": str(agent), "status": "break", "reason": "lunch",
                "since": time.time(), "answered": 3, "held": [], "missed": 0}))
            redis_client.xadd(EVENTS_STREAM, event_fields(
                "agent.status", tenant_id=tenant, agent=str(agent), to="break"))
            sync_api.expect(status).to_have_text("break", timeout=15_000)
            sync_api.expect(page.locator("#agent-me [data-field=calls]")).to_have_text("3")
            # with the stream up, no poll in two and a half poll periods (a bounded wait
            # for what must not come)
            with pytest.raises(sync_api.TimeoutError), page.expect_request(
                    lambda r: r.url.endswith("/api/v1/agents/me"), timeout=5_000):
                pass
        finally:
            redis_client.hdel(key, str(agent))
            browser.close()
