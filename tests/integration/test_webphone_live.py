"""Issue 13 item 1, first slice: an agent without a desk phone works from the browser.

Chromium (Playwright, Debian's ``chromium``) with fake media (its microphone is a WAV
tone): a fresh agent of the demo tenant logs in to a real panel server, the agent page
fetches its webphone configuration (the webphone is created on first use and applied to
Asterisk through the admin write path) and JsSIP registers over Asterisk's WebSocket
transport; Asterisk's ``pjsip show contacts`` shows it. The agent logs in to the queues
(a webphone is a phone: "no phone, no ready" lets it through); a lab caller dials a DID
routed to the agent's queue; the browser rings with the caller's number, the agent
answers, the call is bridged (the call record names the webphone), and audio flows both
ways: the caller hears the browser's microphone tone, the browser hears the caller's tone
(measured in the page on the received stream), and both are in the call's recording.

Screenshots: set ``CENTRALA_SHOTS=<folder>`` to keep the agent page ringing and on the call.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import soundfile
from cutproxy import CutProxy
from helpers import duration_s, free_port, panel_process, tone_ratio, tone_share, until
from labtools import CALLER_TONE, ended_record, reload_acd, session_factory, unique_caller
from rq import Queue as JobQueue
from rq import SimpleWorker
from sqlalchemy import delete, select
from webphonelab import BROWSER_TONE, CHROMIUM, HEARD_JS, ME_JS, launch, microphone, preflight

from controlplane import stack
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Role, Tenant, Trunk, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.call_quality import CallQuality
from controlplane.models.desktop import CallDisposition, CallWrapup
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
DID = "48221000077"
PASSWORD = "Webphone-" + secrets.token_hex(6)


@dataclass(frozen=True)
class World:
    base: str
    address: str
    user_id: int
    settings: object
    supervisor: str = ""


@pytest.fixture
def world(platform, tmp_path: Path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """A fresh agent with no phone, member of queue ``webq``; DID → webq; a panel server."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    factory = session_factory(platform)
    login = f"wp{secrets.token_hex(3)}"
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        user = User(tenant_id=tenant_id, login=login, role=Role.AGENT, display_name="Web Agent",
                    password_hash=hash_password(PASSWORD))
        boss = User(tenant_id=tenant_id, login=login + "-sv", role=Role.SUPERVISOR,
                    display_name="Web Supervisor", password_hash=hash_password(PASSWORD))
        s.add_all([user, boss])
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "webq"))
        queue = Queue(tenant_id=tenant_id, name="webq", strategy="linear", ring_timeout_s=20,
                      announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=user.id, penalty=0))
        s.execute(delete(Did).where(Did.number == DID))
        trunk_id = s.scalar(select(Trunk.id).where(Trunk.name == LAB_TRUNK))
        s.add(Did(tenant_id=tenant_id, number=DID, trunk_id=trunk_id, queue_id=queue.id))
        if s.scalar(select(CallDisposition).where(CallDisposition.tenant_id == tenant_id,
                                                  CallDisposition.code == "sold")) is None:
            s.add(CallDisposition(tenant_id=tenant_id, code="sold", label="Sprzedane"))
        user_id = user.id
    reload_acd(platform, tenant_id)
    port = free_port()
    base = f"http://{platform.settings.bind_address}:{port}"
    try:
        with panel_process({**os.environ, "CENTRALA_WEB_PORT": str(port)},
                           tmp_path / "web.log", base):
            yield World(base, f"{login}@{DEMO_DOMAIN}", user_id, platform.settings,
                        f"{login}-sv@{DEMO_DOMAIN}")
    finally:
        with transaction(factory) as s:
            s.execute(delete(Did).where(Did.number == DID))
            s.execute(delete(CallDisposition).where(CallDisposition.tenant_id == tenant_id,
                                                    CallDisposition.code == "sold"))
            s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "webq"))
            s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.user_id == user_id))
            s.execute(delete(User).where(User.id == user_id))
            s.execute(delete(User).where(User.login == login + "-sv"))
        stack.apply_platform_config(platform.settings)  # the webphone's endpoint goes too
        reload_acd(platform, tenant_id)
        factory.kw["bind"].dispose()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("CENTRALA_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"webphone-{name}.png"), full_page=True)


def test_browser_agent_answers_a_queue_call_with_audio_both_ways(world: World,
                                                                  tmp_path: Path) -> None:
    w, settings = world, world.settings
    mic = microphone(tmp_path)
    platform_ast = stack.platform_instance(settings)  # type: ignore[arg-type]
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, mic)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="pl-PL")
            page = agent_page(context, w)
            root = page.locator("#webphone")
            # 1. registered: in the page (JsSIP) and in Asterisk
            until(lambda: root.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what=f"the webphone registered (page says "
                  f"{root.get_attribute('data-state')}: {page.locator('#wp-error').text_content()})")
            with session_factory_of(settings)() as s:
                name = s.scalar(select(PhoneEndpoint.name).where(
                    PhoneEndpoint.user_id == w.user_id, PhoneEndpoint.kind == "webphone"))
            assert name
            until(lambda: f"{name}/" in platform_ast.cli("pjsip show contacts"), timeout=20,
                  what="Asterisk's contact for the webphone")
            until(lambda: root.get_attribute("data-server") == "registered", timeout=30,
                  interval=0.5, what="the page showing Asterisk's view")
            # 2. the preflight (microphone, then Asterisk's echo test) unlocks the queues
            assert page.locator("form:has(input[name=command][value=login]) button").is_disabled()
            preflight(page)
            # 3. the agent logs in to the queues (ready)
            page.reload()
            page.locator("form:has(input[name=command][value=login]) button").click()
            page.wait_for_load_state()
            until(lambda: page.locator("[data-field=status]").text_content() == "ready",
                  timeout=20, interval=0.5, what="the agent page says ready")
            until(lambda: root.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what="the webphone registered again after the reload")
            # a reload registers a new contact: Asterisk's view, and the ACD's, follow it
            until(lambda: root.get_attribute("data-server") == "registered", timeout=30,
                  interval=0.5, what="Asterisk's view after the reload")
            until(lambda: page.evaluate(ME_JS)["reachable"] is True, timeout=30, interval=0.5,
                  what="the ACD sees the agent's webphone reachable")
            # a supervisor watches the wallboard (its own browser context, SSE)
            board = context.browser.new_context(viewport={"width": 1366, "height": 900},
                                                locale="pl-PL").new_page()
            board.goto(f"{w.base}/login")
            board.fill("input[name=address]", w.supervisor)
            board.fill("input[name=password]", PASSWORD)
            board.click("form button[type=submit]")
            board.wait_for_load_state()
            board.goto(f"{w.base}/wallboard")

            def agent_on_board() -> str:
                return str(board.evaluate(
                    "() => Array.from(document.querySelectorAll('[data-wb=agents] tr'))"
                    ".map(r => r.textContent).find(t => t.includes('Web Agent')) || ''"))

            # 3. a lab caller dials the DID; the browser rings with the caller's number
            caller = unique_caller()
            lab_id = labcall.call(settings, labcall.CallSpec(  # type: ignore[arg-type]
                did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=25))
            until(lambda: root.get_attribute("data-state") == "ringing", timeout=30,
                  interval=0.2, what="the webphone ringing")
            assert caller in (page.locator("#wp-caller").text_content() or "")
            shot(page, "ringing")
            page.click("#wp-answer")
            until(lambda: root.get_attribute("data-state") == "on_call", timeout=15,
                  interval=0.2, what="the call answered in the browser")
            shot(page, "on-call")
            # the wallboard shows the agent on the call, pushed over SSE
            until(lambda: "Rozmowa" in agent_on_board(), timeout=10, interval=0.2,
                  what="the wallboard showing the agent on a call")
            board.click("form[action='/logout'] button")  # one workstation per user
            board.wait_for_load_state()
            # 4. the browser hears the caller's tone (well above the noise floor)
            heard = page.evaluate(HEARD_JS, CALLER_TONE)
            assert heard > 30, f"caller's tone only {heard:.1f} dB above the median in the browser"
            # 5. mute, hold and resume, the keypad (the call stays up through all of them)
            page.click("#wp-mute")
            assert page.get_attribute("#wp-mute", "aria-pressed") == "true"
            page.click("#wp-mute")
            page.click("#wp-hold")
            until(lambda: root.get_attribute("data-state") == "on_hold", timeout=10,
                  interval=0.2, what="the call on hold (re-INVITE accepted)")
            page.click("#wp-hold")
            until(lambda: root.get_attribute("data-state") == "on_call", timeout=10,
                  interval=0.2, what="the call resumed")
            page.click("#wp-keypad [data-dtmf='5']")
            assert page.evaluate(HEARD_JS, CALLER_TONE) > 30, "no audio after resuming"
            page.click("#wp-hangup")
            until(lambda: root.get_attribute("data-state") == "registered", timeout=15,
                  interval=0.2, what="the webphone idle after hanging up")
            # 6. the call's quality, measured in the page, reported for its record
            until(lambda: root.get_attribute("data-quality-sent") is not None, timeout=15,
                  interval=0.2, what="the webphone reporting the call's quality")
            assert root.get_attribute("data-quality-sent") == "ok"
            # 7. the agent disposes the call on the card it just ended
            until(lambda: page.locator("#dk-wrapup").is_visible(), timeout=10, interval=0.2,
                  what="the wrap-up form after the call")
            page.select_option("#dk-disposition", "sold")
            page.fill("#dk-note", "webphone call")
            page.click("#dk-wrapup button[type=submit]")
            until(lambda: (page.locator("#dk-saved").text_content() or "").strip() != "",
                  timeout=10, interval=0.2, what="the wrap-up saved")
        finally:
            browser.close()
    # 8. the call record: answered by the webphone, from the queue, disposed; audio both ways
    row = ended_record(_Platform(settings), caller, timeout=60)
    with session_factory_of(settings)() as s:
        quality = s.scalar(select(CallQuality).where(CallQuality.call_id == row.call_id))
        wrap = s.scalar(select(CallWrapup).where(CallWrapup.call_id == row.call_id))
    assert wrap is not None and (wrap.disposition_code, wrap.note) == ("sold", "webphone call")
    assert quality is not None and quality.endpoint == name and quality.source == "webphone"
    assert quality.packets_received > 100 and quality.jitter_ms is not None
    assert quality.first_audio_ms is not None and 0 <= quality.first_audio_ms < 5000
    print(f"answer → first audio at the agent: {quality.first_audio_ms} ms; "
          f"loss {quality.loss_pct} %, jitter {quality.jitter_ms:.1f} ms, "
          f"RTT {quality.rtt_ms} ms, codec {quality.codec}")
    assert row.answered_at is not None and row.agent_endpoint == name and row.queue == "webq"
    assert row.recording_path
    until(lambda: duration_s(row.recording_path) > 1, timeout=10, what="recording to be written")
    assert tone_ratio(row.recording_path, CALLER_TONE) > 50
    assert tone_ratio(row.recording_path, BROWSER_TONE) > 50
    _, caller_heard = labcall.recordings(settings, lab_id)  # type: ignore[arg-type]
    until(lambda: caller_heard.exists(), timeout=10, what="the caller's recording")
    assert tone_share(caller_heard, BROWSER_TONE) > 0.5 > 0.01 > tone_share(caller_heard, CALLER_TONE)
    # 9. a supervisor finds the recording by agent, tags it, plays it (Range), zips it
    supervisor_finds_tags_plays_and_zips(w, row.id, tmp_path)


def supervisor_finds_tags_plays_and_zips(w: World, record_id: int, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--autoplay-policy=no-user-gesture-required"])
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="pl-PL", accept_downloads=True)
            page = context.new_page()
            page.goto(f"{w.base}/login")
            page.fill("input[name=address]", w.supervisor)
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{w.base}/recordings?agent={w.user_id}")
            row = page.locator(f"#rec-{record_id}")
            assert row.count() == 1, "the webphone call's recording, found by its agent"
            tag = "webphone-" + secrets.token_hex(2)
            row.locator("input[name=tag]").fill(tag)
            row.locator("form.tag-form button[type=submit]").last.click()
            page.wait_for_load_state()
            page.goto(f"{w.base}/recordings?tag={tag}")
            row = page.locator(f"#rec-{record_id}")
            assert row.count() == 1, "found again by its tag"
            shot(page, "recordings")
            # play it and seek: the browser asks for a byte range, the panel answers 206
            ranges: list[tuple[str, int]] = []
            page.on("response", lambda r: ranges.append((r.request.headers.get("range", ""),
                                                         r.status))
                    if "/recording" in r.url else None)
            audio = row.locator("audio")
            audio.evaluate("a => { a.muted = true; a.play(); }")
            try:
                until(lambda: audio.evaluate("a => a.readyState >= 1 && a.duration > 1"),
                      timeout=15, interval=0.2, what="the recording's metadata in the player")
            except AssertionError as err:
                state = audio.evaluate("a => [a.networkState, a.error && a.error.code, a.src]")
                raise AssertionError(f"{err}: player {state}, responses {ranges}") from None
            audio.evaluate("a => { a.currentTime = a.duration - 0.5; }")
            until(lambda: any(rng.startswith("bytes=") and status == 206 for rng, status in ranges),
                  timeout=15, interval=0.2, what=f"a ranged request of the recording ({ranges})")
            # a ZIP of the selection, built by an RQ job with a progress bar
            row.locator("input.zip-pick").check()
            page.click("#zip-start")
            conn = redis.Redis.from_url(w.settings.redis_url_for("worker"))  # type: ignore[attr-defined]
            try:  # the job reaches RQ through the outbox the control plane drains
                def built() -> bool:  # run what is queued, then look at the page
                    SimpleWorker([JobQueue("default", connection=conn)],
                                 connection=conn).work(burst=True)
                    return page.locator("#zip-status a").count() > 0

                until(built, timeout=90, interval=0.5, what="the ZIP built and offered")
            except AssertionError as err:
                raise AssertionError(f"{err}; the page says "
                                     f"{page.locator('#zip-status').text_content()!r}") from None
            with page.expect_download() as download:
                page.locator("#zip-status a").click()
            path = tmp_path / "recordings.zip"
            download.value.save_as(str(path))
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith(".wav")]
                assert names, z.namelist()
                for name in names:
                    z.extract(name, tmp_path / "unzipped")
                    info = soundfile.info(str(tmp_path / "unzipped" / name))
                    assert info.frames > info.samplerate, (name, info)  # over a second
        finally:
            browser.close()


def agent_page(context, w: World, login: bool = True):  # type: ignore[no-untyped-def]
    """A tab of ``context`` on the agent page (logging in first when ``login``)."""
    page = context.new_page()
    if login:
        page.goto(f"{w.base}/login")
        page.fill("input[name=address]", w.address)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_load_state()
    page.goto(f"{w.base}/agent")
    return page


def test_one_registration_across_tabs_driven_from_any(world: World, tmp_path: Path) -> None:
    """Two tabs of one agent: only one registers (Asterisk sees one contact); the other
    shows the phone's state, answers and hangs up a call heard in the first, and takes the
    phone over between calls; closing the phone tab hands it to the other."""
    w, settings = world, world.settings
    platform_ast = stack.platform_instance(settings)  # type: ignore[arg-type]
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, microphone(tmp_path))
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="pl-PL")
            first = agent_page(context, w)
            one = first.locator("#webphone")
            until(lambda: one.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what="the first tab registered")
            second = agent_page(context, w, login=False)
            two = second.locator("#webphone")
            until(lambda: two.get_attribute("data-state") == "registered", timeout=20,
                  interval=0.3, what="the second tab showing the first tab's state")
            assert two.get_attribute("data-tab") == "remote"
            assert one.get_attribute("data-tab") == "phone"
            assert second.locator("#wp-takeover").is_visible()
            with session_factory_of(settings)() as s:
                name = s.scalar(select(PhoneEndpoint.name).where(
                    PhoneEndpoint.user_id == w.user_id, PhoneEndpoint.kind == "webphone"))

            def contacts() -> int:
                return sum(1 for line in platform_ast.cli("pjsip show contacts").splitlines()
                           if "Contact:" in line and f"{name}/" in line)

            until(lambda: contacts() == 1, timeout=20, what="Asterisk's one contact")
            preflight(first)  # in the phone tab; the pass is the browser's, for every tab
            # a call rings in both tabs; the second answers; the first plays it
            second.reload()  # the ACD knows the agent once the webphone exists (as above)
            until(lambda: second.evaluate(ME_JS)["status"] is not None, timeout=20,
                  interval=0.5, what="the ACD knowing the agent")
            # (SQLite reuses a deleted user's id: this file's first agent had the same id,
            # and the ACD may still hold it ready; what matters here is being ready)
            if second.evaluate(ME_JS)["status"] == "logged_out":
                second.locator("form:has(input[name=command][value=login]) button").click()
                second.wait_for_load_state()
            until(lambda: second.evaluate(ME_JS)["status"] == "ready", timeout=20,
                  interval=0.5, what="the agent ready")
            two = second.locator("#webphone")
            until(lambda: two.get_attribute("data-tab") == "remote"
                  and two.get_attribute("data-state") == "registered", timeout=20,
                  interval=0.3, what="the reloaded second tab showing the phone")
            until(lambda: second.evaluate(ME_JS)["reachable"] is True, timeout=30,
                  interval=0.5, what="the ACD sees the webphone reachable")
            caller = unique_caller()
            labcall.call(settings, labcall.CallSpec(  # type: ignore[arg-type]
                did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=25))
            until(lambda: two.get_attribute("data-state") == "ringing", timeout=30,
                  interval=0.2, what="the second tab showing the call ringing")
            assert caller in (second.locator("#wp-caller").text_content() or "")
            second.click("#wp-answer")
            until(lambda: one.get_attribute("data-state") == "on_call", timeout=15,
                  interval=0.2, what="the call answered (from the second tab)")
            until(lambda: two.get_attribute("data-state") == "on_call", timeout=5,
                  interval=0.2, what="the second tab showing the call")
            assert not second.locator("#wp-takeover").is_visible()  # never during a call
            heard = first.evaluate(HEARD_JS, CALLER_TONE)
            assert heard > 30, f"the phone tab hears the caller only {heard:.1f} dB up"
            second.click("#wp-hangup")
            until(lambda: one.get_attribute("data-state") == "registered", timeout=15,
                  interval=0.2, what="hung up from the second tab")
            # take over: the second tab registers, the first lets go; still one contact
            until(lambda: second.locator("#wp-takeover").is_visible(), timeout=10,
                  interval=0.2, what="the take-over button after the call")
            second.click("#wp-takeover")
            until(lambda: two.get_attribute("data-tab") == "phone"
                  and two.get_attribute("data-state") == "registered", timeout=30,
                  interval=0.3, what="the second tab holding the phone")
            until(lambda: one.get_attribute("data-tab") == "remote", timeout=10,
                  interval=0.2, what="the first tab letting go")
            until(lambda: contacts() == 1, timeout=20,
                  what="Asterisk's one contact after the take-over")
            # closing the phone tab hands the phone to the other
            second.close()
            until(lambda: one.get_attribute("data-tab") == "phone"
                  and one.get_attribute("data-state") == "registered", timeout=30,
                  interval=0.3, what="the first tab registering when the phone tab closed")
            until(lambda: contacts() == 1, timeout=20,
                  what="Asterisk's one contact after the phone tab closed")
        finally:
            browser.close()


def test_a_silent_microphone_fails_the_preflight_and_keeps_the_queues_locked(
        world: World, tmp_path: Path) -> None:
    """A microphone that sends only silence: the preflight says so, and the agent cannot log
    in to the queues from this browser."""
    silent = tmp_path / "silent.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(silent), "trim",
                    "0", "30"], check=True)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, silent)
        try:
            page = agent_page(browser.new_context(locale="pl-PL"), world)
            root = page.locator("#webphone")
            until(lambda: root.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what="the webphone registered")
            page.click("#wp-preflight")
            until(lambda: root.get_attribute("data-preflight") == "failed", timeout=30,
                  interval=0.2, what="the preflight failing")
            assert "Mikrofon nie przesyła dźwięku" in (
                page.locator("#wp-preflight-result").text_content() or "")
            assert page.locator("form:has(input[name=command][value=login]) button").is_disabled()
            assert page.locator("#wp-preflight-needed").is_visible()
        finally:
            browser.close()


def _tail(path: Path, seconds: float, out: Path) -> Path:
    """The last ``seconds`` of a recording, as a file of its own."""
    audio, rate = soundfile.read(str(path), always_2d=True)
    soundfile.write(str(out), audio[-int(seconds * rate):], rate)
    return out


def test_a_call_survives_a_10_s_network_cut(world: World, tmp_path: Path) -> None:
    """The browser's network is cut for 10 s during a call (its SIP WebSocket runs through
    a proxy that drops every connection and refuses new ones): the page sees the cut,
    registers again within 5 s of the network's return, renegotiates the call (re-INVITE,
    ICE restart), and audio flows both ways afterwards."""
    w, settings = world, world.settings
    proxy = CutProxy()
    panel = w.base.split("//", 1)[1]
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, microphone(tmp_path), f"127.0.0.1:{proxy.port},{panel}")
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="pl-PL")
            page = agent_page(context, w)
            root = page.locator("#webphone")
            until(lambda: root.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what="the webphone registered")
            preflight(page)
            page.reload()
            until(lambda: page.evaluate(ME_JS)["status"] is not None, timeout=20,
                  interval=0.5, what="the ACD knowing the agent")
            if page.evaluate(ME_JS)["status"] == "logged_out":
                page.locator("form:has(input[name=command][value=login]) button").click()
                page.wait_for_load_state()
            root = page.locator("#webphone")
            until(lambda: page.evaluate(ME_JS)["status"] == "ready"
                  and page.evaluate(ME_JS)["reachable"] is True, timeout=40, interval=0.5,
                  what="the agent ready with the webphone reachable")
            caller = unique_caller()
            lab_id = labcall.call(settings, labcall.CallSpec(  # type: ignore[arg-type]
                did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=60))
            until(lambda: root.get_attribute("data-state") == "ringing", timeout=30,
                  interval=0.2, what="the webphone ringing")
            page.click("#wp-answer")
            until(lambda: root.get_attribute("data-state") == "on_call", timeout=15,
                  interval=0.2, what="the call answered")
            assert page.evaluate(HEARD_JS, CALLER_TONE) > 30, "no audio before the cut"
            assert proxy.tunnels >= 1, "the SIP WebSocket did not go through the proxy"
            proxy.cut()
            until(lambda: root.get_attribute("data-network") == "down", timeout=10,
                  interval=0.2, what="the page seeing its connection cut")
            cut_at = time.monotonic()
            until(lambda: time.monotonic() - cut_at >= 10, timeout=15, interval=0.5,
                  what="ten seconds of network cut")
            proxy.restore()
            back_at = time.monotonic()
            until(lambda: root.get_attribute("data-network") == "up", timeout=10,
                  interval=0.1, what="the WebSocket connected again")
            until(lambda: root.get_attribute("data-recovered") is not None, timeout=10,
                  interval=0.1, what="the call renegotiated (re-INVITE, ICE restart)")
            recovered_s = time.monotonic() - back_at
            assert root.get_attribute("data-state") == "on_call"
            until(lambda: root.get_attribute("data-server") == "registered", timeout=5,
                  interval=0.2,
                  what="Asterisk seeing the webphone registered within 5 s of the return")
            print(f"network back → call renegotiated in {recovered_s:.1f} s")
            assert page.evaluate(HEARD_JS, CALLER_TONE) > 30, "no audio after the cut"
            until(lambda: time.monotonic() - back_at >= 4, timeout=10, interval=0.5,
                  what="four seconds of the browser's tone to the caller after the cut")
            page.click("#wp-hangup")
            until(lambda: root.get_attribute("data-state") == "registered", timeout=15,
                  interval=0.2, what="the webphone idle after hanging up")
        finally:
            browser.close()
            proxy.close()
    _, caller_heard = labcall.recordings(settings, lab_id)  # type: ignore[arg-type]
    until(lambda: caller_heard.exists() and duration_s(caller_heard) > 15, timeout=20,
          what="the caller's recording")
    tail = _tail(caller_heard, 3.0, tmp_path / "tail.wav")
    assert tone_share(tail, BROWSER_TONE) > 0.5, "the caller does not hear the browser after the cut"


@dataclass(frozen=True)
class _Platform:
    settings: object


def session_factory_of(settings):  # type: ignore[no-untyped-def]
    return session_factory(_Platform(settings))
