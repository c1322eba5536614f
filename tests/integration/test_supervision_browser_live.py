"""Issue 13's done-means: a supervisor in Chromium listens, whispers and barges.

Two Chromium browsers with fake microphones, each its own tone: the agent (1100 Hz) works
from the agent page's webphone, the supervisor (1870 Hz, no harmonic or product of the
others) from the live calls page, in Polish, where the same webphone runs for staff without
a desk phone. A lab caller (600 Hz) dials this module's DID into a queue; the agent answers
in the browser. The supervisor picks the call on the live calls page ("Podsłuchaj": never a
channel); their webphone rings and answers by itself (the call of their own session only);
then "Podpowiadaj" in the bar, and "Włącz się" in the bar of a second tab (the agents
board, whose webphone drives the first tab's: one registration) switch the one phone leg in
place (no page reloads, Asterisk's channel stays the same), and "Zakończ nadzór" ends it.

What each side hears: the supervisor's and the agent's pages measure their received audio
in the page during each mode (the tone's FFT bin against its neighbours); the caller's side is the lab caller's
recording (``MixMonitor r()``), cut at the byte it had reached when the supervisor pressed
barge: before that point (listen and whisper) the supervisor's tone is absent, after it
present. listen: the supervisor hears caller and agent, nobody hears the supervisor;
whisper: the agent hears the supervisor, the caller does not; barge: both do.

Screenshots (``CENTRALA_SHOTS``): ``supervise-whisper`` (the supervisor's page during the
whisper) and ``supervise-agent-whisper`` (the agent's, told who speaks to them).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import soundfile
from helpers import duration_s, tone_share, until
from labtools import CALLER_TONE, ended_record, reload_acd, session_factory, unique_caller
from sqlalchemy import delete, select
from webphonelab import (
    CHROMIUM,
    ME_JS,
    launch,
    microphone,
    panel_server,
    preflight,
    shot,
    sign_in,
)

from controlplane import stack
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Role, Tenant, Trunk, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.desktop import DesktopSettings
from controlplane.models.supervision import SupervisionSession
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
DID = "48221000079"
QUEUE = "svbrowser"
AGENT_TONE, SUPERVISOR_TONE = 1100, 1870
PASSWORD = "Supervise-" + secrets.token_hex(6)


@dataclass(frozen=True)
class World:
    platform: Any
    base: str
    agent: str
    supervisor: str
    agent_id: int
    supervisor_id: int


@pytest.fixture
def world(platform, tmp_path: Path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """A fresh agent and a fresh supervisor of the demo tenant, neither with a phone; a
    queue of the agent's; DID → queue; agents told of supervision; a panel server."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    factory = session_factory(platform)
    login = f"sv{secrets.token_hex(3)}"
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        agent = User(tenant_id=tenant_id, login=login, role=Role.AGENT,
                     display_name="Anna Agentka", password_hash=hash_password(PASSWORD))
        boss = User(tenant_id=tenant_id, login=login + "-boss", role=Role.SUPERVISOR,
                    display_name="Szymon Nadzorca", password_hash=hash_password(PASSWORD))
        s.add_all([agent, boss])
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == QUEUE))
        queue = Queue(tenant_id=tenant_id, name=QUEUE, strategy="linear", ring_timeout_s=20,
                      announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=agent.id, penalty=0))
        s.execute(delete(Did).where(Did.number == DID))
        trunk_id = s.scalar(select(Trunk.id).where(Trunk.name == LAB_TRUNK))
        s.add(Did(tenant_id=tenant_id, number=DID, trunk_id=trunk_id, queue_id=queue.id))
        desk = s.get(DesktopSettings, tenant_id)
        if desk is None:
            desk = DesktopSettings(tenant_id=tenant_id)
            s.add(desk)
        notice, desk.supervision_notice = bool(desk.supervision_notice), True
        ids = (agent.id, boss.id)
    reload_acd(platform, tenant_id)
    try:
        with panel_server(platform.settings, tmp_path / "web.log") as base:
            yield World(platform, base, f"{login}@{DEMO_DOMAIN}",
                        f"{login}-boss@{DEMO_DOMAIN}", *ids)
    finally:
        with transaction(factory) as s:
            s.execute(delete(Did).where(Did.number == DID))
            s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == QUEUE))
            s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.user_id.in_(ids)))
            s.execute(delete(User).where(User.id.in_(ids)))
            s.get(DesktopSettings, tenant_id).supervision_notice = notice
        stack.apply_platform_config(platform.settings)  # the webphones' endpoints go too
        reload_acd(platform, tenant_id)
        factory.kw["bind"].dispose()


# What a page hears of ``hz``, measured on its webphone's received stream (WebAudio's
# analyser, 8192-point FFT at 48 kHz): the tone's bin in dB over the median of its
# neighbours (±30 to ±230 Hz: the local noise floor, which the caller's G.711 leg raises to
# some 60 dB under a tone), and in dB under the page's loudest bin.
LEVEL_JS = """async (hz) => {
  const stream = document.getElementById('wp-audio').srcObject;
  if (!stream) return null;
  const ctx = new AudioContext();
  const an = ctx.createAnalyser(); an.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  await new Promise(r => setTimeout(r, 1500));
  an.getFloatFrequencyData(bins);
  const at = Math.round(hz / (ctx.sampleRate / an.fftSize));
  const peak = Math.max(...bins.slice(at - 2, at + 3));
  const near = Array.from(bins.slice(at - 40, at - 5))
    .concat(Array.from(bins.slice(at + 6, at + 41))).sort((a, b) => a - b);
  await ctx.close();
  return [peak - near[Math.floor(near.length / 2)], peak - Math.max(...bins)];
}"""
# Heard: well over the floor and within 30 dB of the loudest (measured: 28 to 80 dB over,
# 0 to 17 dB under); not heard: near the floor (measured 1.7 dB), or 60 dB and more under
# the loudest (a clean path's floor is near -200 dB: a bin there can stand 15 dB over its
# neighbours while 130 dB under what the page hears).
HEARD_OVER_FLOOR, HEARD_UNDER_TOP, QUIET_OVER_FLOOR, QUIET_UNDER_TOP = 20, -30, 10, -60


def heard(page, hz: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(dB over the local floor, dB under the loudest) of ``hz`` in what ``page`` hears."""
    got = page.evaluate(LEVEL_JS, hz)
    return (round(got[0], 1), round(got[1], 1)) if got else (0.0, -999.0)


def loud(level: tuple[float, float]) -> bool:
    return level[0] > HEARD_OVER_FLOOR and level[1] > HEARD_UNDER_TOP


def quiet(level: tuple[float, float]) -> bool:
    return level[0] < QUIET_OVER_FLOOR or level[1] < QUIET_UNDER_TOP


def phone_leg(platform, session_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """The Asterisk name of the session's phone leg (a redial would make a new one)."""
    for line in stack.platform_instance(platform.settings).cli(
            "core show channels concise").splitlines():
        fields = line.split("!")
        if fields[-1] == f"sv{session_id}-sv-phone":
            return fields[0]
    return None


def contacts(platform, user_id: int) -> int:  # type: ignore[no-untyped-def]
    """How many registrations Asterisk holds for the user's webphone."""
    with session_factory(platform)() as s:
        name = s.scalar(select(PhoneEndpoint.name).where(
            PhoneEndpoint.user_id == user_id, PhoneEndpoint.kind == "webphone"))
    out = stack.platform_instance(platform.settings).cli("pjsip show contacts")
    return sum(1 for line in out.splitlines() if "Contact:" in line and f"{name}/" in line)


def ready_agent(page) -> None:  # type: ignore[no-untyped-def]
    """The agent's webphone registered and checked, the agent in the queues, reachable."""
    root = page.locator("#webphone")
    try:
        until(lambda: root.get_attribute("data-state") == "registered", timeout=60,
              interval=0.5, what="the agent's webphone registered")
    except AssertionError as err:  # what the phone said, for the next person
        said = {a: root.get_attribute(a) for a in ("data-state", "data-network", "data-server")}
        raise AssertionError(f"{err}; the webphone: {said}, "
                             f"{page.locator('#webphone').inner_text()!r}") from None
    preflight(page)
    page.reload()  # the ACD knows the agent's phone once the webphone exists
    until(lambda: page.evaluate(ME_JS)["status"] is not None, timeout=20, interval=0.5,
          what="the ACD knowing the agent")
    if page.evaluate(ME_JS)["status"] == "logged_out":
        page.locator("form:has(input[name=command][value=login]) button").click()
        page.wait_for_load_state()
    until(lambda: page.evaluate(ME_JS)["status"] == "ready"
          and page.evaluate(ME_JS)["reachable"] is True, timeout=40, interval=0.5,
          what="the agent ready with the webphone reachable")


def test_a_supervisor_in_the_browser_listens_whispers_and_barges(world: World,
                                                                  tmp_path: Path) -> None:
    w, settings = world, world.platform.settings
    started = time.monotonic()
    with sync_api.sync_playwright() as pw:
        agent_browser = launch(pw, microphone(tmp_path, AGENT_TONE, "agent.wav"))
        boss_browser = launch(pw, microphone(tmp_path, SUPERVISOR_TONE, "boss.wav"))
        try:
            view = {"viewport": {"width": 1366, "height": 900}, "locale": "pl-PL"}
            agent = sign_in(agent_browser.new_context(**view), w.base, w.agent, PASSWORD,
                            "/agent")
            ready_agent(agent)
            boss = sign_in(boss_browser.new_context(**view), w.base, w.supervisor, PASSWORD,
                           "/calls/live")
            phone = boss.locator("#webphone")
            until(lambda: phone.get_attribute("data-state") == "registered", timeout=40,
                  interval=0.5, what="the supervisor's webphone registered")
            assert phone.get_attribute("data-gate") is None  # no queues to unlock here
            until(lambda: phone.get_attribute("data-server") == "registered", timeout=30,
                  interval=0.5, what="Asterisk seeing the supervisor's webphone")
            ready_at = time.monotonic()

            # a lab caller reaches the agent, who answers in the browser
            caller = unique_caller()
            lab_id = labcall.call(settings, labcall.CallSpec(
                did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=90))
            agent_phone = agent.locator("#webphone")
            until(lambda: agent_phone.get_attribute("data-state") == "ringing", timeout=30,
                  interval=0.2, what="the agent's webphone ringing")
            agent.click("#wp-answer")
            until(lambda: agent_phone.get_attribute("data-state") == "on_call", timeout=15,
                  interval=0.2, what="the agent on the call")
            _, caller_heard = labcall.recordings(settings, lab_id)
            until(caller_heard.exists, timeout=10, what="the caller's recording begun")

            # the supervisor picks the call on the live calls page (pushed over SSE)
            row = boss.locator("#live-calls tbody tr", has_text=caller)
            until(lambda: row.locator("form.supervise").count() == 1, timeout=15,
                  interval=0.2, what="the call on the live calls page with its buttons")
            bar = boss.locator("#supervision-bar")

            def mode_is(mode: str) -> bool:
                return (bar.get_attribute("data-mode"), bar.get_attribute("data-state"),
                        bar.is_visible()) == (mode, "active", True)

            row.get_by_role("button", name="Podsłuchaj").click()
            until(lambda: phone.get_attribute("data-state") == "on_call", timeout=20,
                  interval=0.2, what="the supervisor's webphone answering by itself "
                  f"(it says {phone.get_attribute('data-state')})")
            until(lambda: mode_is("listen"), timeout=10, interval=0.2, what="listening")
            sid = int(bar.get_attribute("data-session") or 0)
            leg = phone_leg(w.platform, sid)
            assert leg, "the session's phone leg in Asterisk"
            # listen: the supervisor hears both sides, the agent does not hear them
            tries: list[dict[str, Any]] = []

            def both_heard() -> dict[str, Any] | None:
                got = {"boss_caller": heard(boss, CALLER_TONE),
                       "boss_agent": heard(boss, AGENT_TONE)}
                tries.append(got)
                return got if loud(got["boss_caller"]) and loud(got["boss_agent"]) else None

            listen = until(both_heard, timeout=15, interval=0,
                           what=f"the supervisor hearing caller and agent ({tries})")
            listen["tries"] = len(tries)
            listen["agent_boss"] = heard(agent, SUPERVISOR_TONE)
            assert quiet(listen["agent_boss"]), listen

            # whisper, from the bar: the agent hears the supervisor
            bar.get_by_role("button", name="Podpowiadaj").click()
            until(lambda: mode_is("whisper"), timeout=10, interval=0.2, what="whispering")
            whisper = {"agent_boss": until(
                lambda: (lambda lv: lv if loud(lv) else None)(heard(agent, SUPERVISOR_TONE)),
                timeout=15, interval=0, what="the agent hearing the supervisor's whisper")}
            whisper["boss_caller"] = heard(boss, CALLER_TONE)
            assert loud(whisper["boss_caller"]), whisper
            until(lambda: "mówi do Ciebie" in (agent.locator("#dk-supervised").text_content()
                                               or ""), timeout=10, interval=0.2,
                  what="the agent's card saying who whispers")
            shot(boss, "supervise-whisper")
            shot(agent, "supervise-agent-whisper")

            # a second tab, the agents board: one registration (it drives the phone tab),
            # the session's bar there too; barge is pressed there
            board = boss.context.new_page()
            board.goto(f"{w.base}/agents")
            board_phone = board.locator("#webphone")
            until(lambda: (board_phone.get_attribute("data-tab"),
                           board_phone.get_attribute("data-state")) == ("remote", "on_call"),
                  timeout=15, interval=0.2, what="the board's tab showing the phone tab's call")
            assert contacts(w.platform, w.supervisor_id) == 1
            assert board.locator("#supervision-bar").get_attribute("data-mode") == "whisper"

            # barge: the caller hears the supervisor too; the same leg all along
            cut = caller_heard.stat().st_size  # what the caller heard up to here: listen, whisper
            board.locator("#supervision-bar").get_by_role("button", name="Włącz się").click()
            until(lambda: mode_is("barge"), timeout=10, interval=0.2, what="barging in")
            barge = {"agent_boss": until(
                lambda: (lambda lv: lv if loud(lv) else None)(heard(agent, SUPERVISOR_TONE)),
                timeout=15, interval=0, what="the agent hearing the supervisor barge in")}
            barge["boss_caller"] = heard(boss, CALLER_TONE)
            assert loud(barge["boss_caller"]), barge
            until(lambda: caller_heard.stat().st_size > cut + 3 * 16000, timeout=15,
                  interval=0.2, what="three more seconds of the caller's recording")
            assert phone_leg(w.platform, sid) == leg, "the phone leg was redialled"

            bar.get_by_role("button", name="Zakończ nadzór").click()
            until(lambda: not bar.is_visible(), timeout=10, interval=0.2, what="the bar gone")
            until(lambda: phone.get_attribute("data-state") == "registered", timeout=10,
                  interval=0.2, what="the supervisor's webphone idle again")
            assert agent_phone.get_attribute("data-state") == "on_call"  # the call goes on
            assert labcall.hangup(stack.lab_instance(settings), lab_id)
            until(lambda: agent_phone.get_attribute("data-state") == "registered", timeout=15,
                  interval=0.2, what="the agent's webphone idle after the caller hung up")
        finally:
            agent_browser.close()
            boss_browser.close()
    ended_record(w.platform, caller, timeout=30)
    with session_factory(w.platform)() as s:
        row = s.get(SupervisionSession, sid)
        assert row is not None
        assert (row.modes, row.end_reason, row.agent_id, row.supervisor_id) == (
            "listen,whisper,barge", "stopped", w.agent_id, w.supervisor_id)
        assert row.phone == s.scalar(select(PhoneEndpoint.name).where(
            PhoneEndpoint.user_id == w.supervisor_id, PhoneEndpoint.kind == "webphone"))

    # the caller's side, cut where barge began
    until(lambda: duration_s(caller_heard) > 5, timeout=20, what="the caller's recording closed")
    before, after = split_at_byte(caller_heard, cut, tmp_path)
    line = {"before_boss": tone_share(before, SUPERVISOR_TONE),
              "before_agent": tone_share(before, AGENT_TONE),
              "after_boss": tone_share(after, SUPERVISOR_TONE)}
    print(f"in the pages (dB over the floor, dB under the loudest): listen {listen}, whisper {whisper}, "
          f"barge {barge}; the caller's recording (energy shares): {line}; "
          f"set-up {ready_at - started:.1f} s, whole test {time.monotonic() - started:.1f} s")
    assert line["before_agent"] > 0.1, line  # the caller heard the agent meanwhile
    assert line["before_boss"] < 0.002, line  # but not the supervisor: listen, whisper
    assert line["after_boss"] > 0.02, line  # barge: now they do


def split_at_byte(path: Path, byte: int, folder: Path) -> tuple[Path, Path]:
    """The recording in two files: what was on disk at ``byte`` of the file (its header
    included) and the rest; written as it was heard, so the first is what came before."""
    info = soundfile.info(str(path))
    audio, rate = soundfile.read(str(path), always_2d=True)
    header = path.stat().st_size - info.frames * info.channels * 2  # 16-bit samples
    at = max(0, (byte - header) // (2 * info.channels))
    assert 0 < at < len(audio), (at, len(audio))
    parts = (folder / "before.wav", folder / "after.wav")
    soundfile.write(str(parts[0]), audio[:at], rate)
    soundfile.write(str(parts[1]), audio[at:], rate)
    return parts
