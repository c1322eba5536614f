"""The panel served by ``python -m web`` over real HTTP, and in headless Chromium."""

from __future__ import annotations

import base64
import http.cookiejar
import itertools
import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from controlplane.bus import EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration

ADMIN = f"admin@{DEMO_DOMAIN}"
CHROMIUM = shutil.which("chromium")


def http_login(base: str, address: str, password: str) -> tuple[Any, http.cookiejar.CookieJar]:
    """Log in through the real form (CSRF token scraped from the page)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login", timeout=5) as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', resp.read().decode())
    assert token
    form = {"address": address, "password": password, "csrf_token": token.group(1)}
    with opener.open(
        base + "/login", data=urllib.parse.urlencode(form).encode(), timeout=10
    ) as resp:
        assert resp.url.endswith("/calls/records")
    return opener, jar


def put_live_call(redis_client: Any, tenant_id: int, call_id: str, caller: str) -> None:
    call = LiveCall(
        call_id,
        tenant_id,
        "inbound",
        "up",
        caller,
        "1001",
        "48221000001",
        None,
        "2025-03-10T12:00:00+00:00",
    )
    redis_client.hset(LIVE_CALLS_KEY, call_id, call.to_json())
    redis_client.xadd(EVENTS_STREAM, event_fields("call_started", call_id=call_id))


def test_login_and_records_over_http(server, password):
    opener, jar = http_login(server, ADMIN, password)
    cookie = next(c for c in jar if c.name == "centrala_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    with opener.open(server + "/calls/records?per_page=5", timeout=5) as resp:
        page = resp.read().decode()
    assert "30 found" in page
    assert "Page 1 of 6" in page


def test_sse_over_http(server, password, world, redis_client):
    opener, _ = http_login(server, ADMIN, password)
    # The server blocks 10 s per XREAD and then sends a keep-alive; 15 s bounds every read.
    with opener.open(server + "/calls/live/stream", timeout=15) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = sse_events(stream)
        assert json.loads(next(events)) == []
        put_live_call(redis_client, world.demo_tenant, "http-001", "+48711000001")
        assert [c["call_id"] for c in json.loads(next(events))] == ["http-001"]


def sse_events(stream: Any) -> Iterator[str]:
    """The ``data`` of each ``calls`` event read from a raw HTTP response."""
    kind = None
    for raw in stream:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind == "calls":
            yield line.removeprefix("data: ")


class Cdp:
    """Just enough of the Chrome DevTools Protocol to drive one page."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=20))
            if msg.get("id") == msg_id:
                assert "error" not in msg, msg["error"]
                return msg.get("result", {})

    def eval(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)[
            "result"
        ].get("value")

    def goto(self, url: str, until: Any) -> None:
        self.call("Page.navigate", url=url)
        until(
            lambda: (
                self.eval("location.href") == url and self.eval("document.readyState") == "complete"
            ),
            timeout=20,
        )


@pytest.fixture
def browser(tmp_path: Path, wait_until) -> Iterator[Cdp]:
    until = wait_until
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (scripts/bootstrap.sh installs it)")
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            "--window-size=1400,900",
            "--no-first-run",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    try:
        until(port_file.exists, timeout=30)
        until(lambda: len(port_file.read_text().splitlines()) >= 2, timeout=5)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
            page = next(t for t in json.load(resp) if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            yield Cdp(ws)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_browser_live_updates_and_records_screenshot(
    server, password, world, redis_client, browser, wait_until, tmp_path
):
    until = wait_until
    _, jar = http_login(server, ADMIN, password)
    cookie = next(c for c in jar if c.name == "centrala_session")
    browser.call("Network.enable")
    browser.call(
        "Network.setCookie", name=cookie.name, value=cookie.value, url=server, httpOnly=True
    )

    browser.goto(server + "/calls/live", until)
    assert browser.eval("document.querySelector('h1').textContent").startswith("Live calls")
    put_live_call(redis_client, world.demo_tenant, "browser-001", "+48722000001")
    put_live_call(redis_client, world.acme_tenant, "browser-002", "+48722000002")
    body = "document.querySelector('#live-calls tbody').textContent"
    until(lambda: "+48722000001" in (browser.eval(body) or ""), timeout=15)
    assert "+48722000002" not in browser.eval(body)

    browser.goto(server + "/calls/records?per_page=15", until)
    assert browser.eval("document.querySelectorAll('table.grid tbody tr').length") == 15
    shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    assert shot.startswith(b"\x89PNG")
    (tmp_path / "records.png").write_bytes(shot)
