"""The call probes: real calls through the lab, in the probe tenant, answered and heard.

Theory of operation. The probe tenant (:func:`controlplane.seed.seed_probes`) gets telephony
of its own (:func:`controlplane.seed.seed_probe_lines`): a trunk to the lab carrier at
:data:`PROBE_CARRIER_ADDRESS`, an address no customer's trunk uses. The platform identifies
trunk calls by source address, so a call the lab places from there is the probe tenant's
and routing looks its DID up in that tenant only: probe calls never reach a customer's
call records, live calls or wallboard. The lab also registers the tenant's desk phone
:data:`PROBE_PHONE` (it renders every desk phone of the database).

- ``inbound_call`` / ``ivr``: the lab carrier calls :data:`PROBE_DID`, bound to the
  published IVR flow :data:`PROBE_FLOW`: it plays a known prompt (:data:`PROMPT_S` s of a
  :data:`PROMPT_HZ` Hz tone, a sound file the probe writes, so it can be recognised among
  any other prompt, e.g. "no service") and hangs up. Inbound passes when the platform
  answers within :data:`ANSWER_WITHIN_S`; IVR passes when the caller also heard the prompt
  (at least :data:`PROMPT_MIN_S` s of that tone in the lab's recording of what the caller
  heard). Both functions share one call per round (:class:`SharedStep`): two calls would
  double the cost and prove nothing more.
- ``outbound_call``: the probe desk phone dials :data:`LAB_ANSWERS` through the platform,
  which sends it out over the probe trunk; the lab answers as a person ("Hello?"). Passes when
  the call is answered within :data:`ANSWER_WITHIN_S` and the greeting is heard.

Every call is short: answered, :data:`HOLD_S` s of audio, hung up by the lab (``TIMEOUT``).
The lab plays the public and the carrier, so these probes run only where a lab runs
(:func:`enabled`); there they run by default, every round, as the issue asks of every
critical function. ``CENTRALA_SLA_CALL_PROBES=0`` turns them off: they change the platform's
configuration (the probe tenant's lines), which the integration tests' shared platforms must
not see unasked (``tests/conftest.py`` sets it; the call probes' own test turns them on).
``CENTRALA_SLA_AGENT_PROBES=0`` leaves out the agent probes (short rounds).
"""

from __future__ import annotations

import array
import contextlib
import math
import os
import threading
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.config import Settings

PROBE_CARRIER_ADDRESS = "127.0.0.4"  # the lab's carrier for the probe tenant (unused elsewhere)
PROBE_TRUNK = "sla-probe-carrier"
PROBE_ACCOUNT = "centrala-sla-probe"  # the trunk's account at the lab carrier
PROBE_DID = "48229990001"
PROBE_PHONE = "sla-probe-2001"
PROBE_FLOW = "sla-probe"
PROMPT_HZ = 1850  # no other sound of the platform or the lab is near it
PROMPT_S = 1.0
PROMPT_MIN_S = 0.5
LAB_ANSWERS = "1000001"  # the lab carrier's plan: 100XXXX answers as a person
ANSWER_WITHIN_S = 6.0
HOLD_S = 2  # the lab hangs up after this (the IVR's own hang-up usually comes first)
VOICED_MIN_S = 0.3
LOUD = 0.02  # a 20 ms frame whose peak passes this share of full scale is sound
# One call serves inbound_call and ivr when the second asks within this many seconds of the
# first: both are submitted at the same moment of a round, and a round is >= 2 s from the next
SHARE_S = 1.5


class CallProbeFailed(Exception):
    """The call did not go as it should; the message says what was seen."""


@dataclass(frozen=True)
class CallResult:
    answered_s: float | None  # None: not answered in time
    heard_s: float  # of the sound looked for (the prompt's tone, or any voice)
    detail: str


def voiced_seconds(path: Path) -> float:
    """Seconds of sound (20 ms frames whose peak passes :data:`LOUD`) in a 16-bit mono WAV."""
    samples, rate = _samples(path)
    frame = max(1, rate // 50)
    limit = LOUD * 32768
    loud = sum(1 for i in range(0, len(samples) - frame + 1, frame)
               if max(abs(v) for v in samples[i:i + frame]) > limit)
    return loud * 0.02


def _samples(path: Path) -> tuple[array.array[int], int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path.name}: expected 16-bit mono")
        return array.array("h", w.readframes(w.getnframes())), w.getframerate()


def tone_seconds(path: Path, hz: float = PROMPT_HZ) -> float:
    """Seconds of ``hz`` in a 16-bit mono WAV: 100 ms blocks holding most of their energy in
    that frequency (Goertzel; a 10 Hz bin), so speech or other tones do not count."""
    samples, rate = _samples(path)
    n = rate // 10
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    blocks = 0
    for i in range(0, len(samples) - n + 1, n):
        block = samples[i:i + n]
        energy = sum(v * v for v in block)
        if energy < n * (LOUD * 32768) ** 2 / 4:  # near-silence holds no tone
            continue
        s1 = s2 = 0.0
        for v in block:
            s1, s2 = v + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2  # |X(hz)|², ≈ (A·n/2)² for a pure tone
        if power / (n / 2 * energy) > 0.5:
            blocks += 1
    return blocks / 10


def write_prompt(path: Path) -> None:
    """The known prompt: :data:`PROMPT_S` s of :data:`PROMPT_HZ` Hz, 8 kHz 16-bit mono."""
    rate = 8000
    tone = array.array("h", (int(16000 * math.sin(2 * math.pi * PROMPT_HZ * i / rate))
                             for i in range(int(PROMPT_S * rate))))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Asterisk (another user) reads it, and our processes run with umask 077: walkable, as
    # the TTS cache and the uploads (the runtime folder keeps strangers out)
    path.parent.chmod(0o755)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone.tobytes())
    path.chmod(0o644)


def prompt_file(settings: Settings) -> Path:
    """Where the prompt lives: among the platform's sounds (inside Asterisk's bind mount)."""
    return settings.runtime_dir / "platform" / "sounds" / "sla" / "probe-prompt.wav"


def enabled(settings: Settings) -> bool:
    """Whether the call probes run: not turned off (``CENTRALA_SLA_CALL_PROBES=0``; they add
    the probe tenant's lines to Asterisk and the lab, and place calls every round) and a lab
    is running here (it plays the carrier and the desk phone)."""
    if os.environ.get("CENTRALA_SLA_CALL_PROBES", "1") == "0":
        return False
    from controlplane import stack
    from controlplane.asterisk import AsteriskError

    try:
        return stack.lab_instance(settings).running()
    except AsteriskError:  # no Asterisk provisioned here: no lab either
        return False


_lines_lock = threading.Lock()
_lines_ready = False


def ensure_lines(settings: Settings) -> None:
    """Seed the probe telephony once per process; when added, render and reload Asterisk
    (the platform: the trunk, DID, phone) and the lab (the carrier account, the phone)."""
    global _lines_ready
    with _lines_lock:
        if _lines_ready:
            return
        from controlplane import stack
        from controlplane.admin import apply
        from controlplane.db import make_engine, make_sessionmaker
        from controlplane.seed import seed_probe_lines

        engine = make_engine(settings.database_url)
        try:
            factory = make_sessionmaker(engine)
            prompt = prompt_file(settings)
            if not prompt.exists():
                write_prompt(prompt)
            sound = str(prompt.with_suffix(""))  # a flow's sound: Asterisk's name, no extension
            if seed_probe_lines(factory, settings.lab.sip, sound):
                applied = apply.apply(settings, factory)
                if not applied.ok:
                    raise CallProbeFailed(f"probe lines not applied: {applied.error}")
                stack.prepare_lab(settings)
                _reload_acd(settings, factory)
        finally:
            engine.dispose()
        _lines_ready = True


def _reload_acd(settings: Settings, factory: Any) -> None:
    """The ACD may have loaded the probe tenant before its queue and agent existed (the
    panel probe's login is enough): then every queue probe met "no queue 'sla-probe'" until
    the control plane restarted. Ask it to re-read the tenant, as the probe agent for
    itself (the command an agent's new webphone sends: ``acd.webphone``, the same re-read)."""
    import redis
    from sqlalchemy import select

    from controlplane import bus
    from controlplane.models import Tenant, User
    from controlplane.sla.probe_agent import PROBE_AGENT
    from controlplane.sla.probes import PROBE_DOMAIN

    with factory() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == PROBE_DOMAIN))
        agent_id = s.scalar(select(User.id).where(User.tenant_id == tenant_id,
                                                  User.login == PROBE_AGENT))
    if tenant_id is None or agent_id is None:
        return
    client = redis.Redis.from_url(settings.redis_url_for("web"), socket_timeout=2.0)
    try:
        bus.send_webphone_created(client, int(tenant_id), user_id=int(agent_id))
    except redis.RedisError as err:  # the next round meets the stale tenant, and says so
        raise CallProbeFailed(f"the ACD was not asked to re-read the probe tenant: {err}") \
            from err
    finally:
        client.close()


def lab_call(settings: Settings, channel: str, caller_id: str,
             measure: Callable[[Path], float], what: str, hold_s: int = HOLD_S) -> CallResult:
    """Originate ``channel`` in the lab and wait for its answer (synchronous Originate);
    answered, the lab caller records what it hears for ``hold_s`` s and hangs up, and
    ``measure`` says how many seconds of ``what`` the recording holds."""
    from controlplane.engine import ami_sync
    from dialplan.labcall import recordings

    lab_id = uuid.uuid4().hex[:12]
    action = {
        "Action": "Originate", "Channel": channel, "Context": "lab-caller", "Exten": "s",
        "Priority": "1", "CallerID": f'"SLA probe" <{caller_id}>',
        "Timeout": str(int(ANSWER_WITHIN_S * 1000)), "ChannelId": f"lab-{lab_id}",
        "Variable": f"LAB_ID={lab_id},LAB_HANGUP_AFTER={hold_s}",
    }
    t0 = time.monotonic()
    _, replies = ami_sync.actions(settings.bind_address, settings.lab.ami, "lab",
                                  settings.secret("lab_ami_password"), [action],
                                  timeout=ANSWER_WITHIN_S + 4)
    answered_s = time.monotonic() - t0
    if replies[0].get("Response") != "Success" or answered_s > ANSWER_WITHIN_S:
        return CallResult(None, 0.0, f"not answered in {ANSWER_WITHIN_S:g} s "
                                     f"({replies[0].get('Message', '')})")
    mixed, heard = recordings(settings, lab_id)
    try:
        found = _heard(heard, measure, deadline=time.monotonic() + hold_s + 4)
    finally:  # a probe a minute: the lab's spool must not keep them
        for path in (mixed, heard):
            with contextlib.suppress(OSError):
                path.unlink()
    return CallResult(answered_s, found,
                      f"answered in {answered_s:.1f} s, {found:.1f} s of {what} heard")


def _heard(path: Path, measure: Callable[[Path], float], deadline: float) -> float:
    """``measure`` of a lab recording once it is complete (its size still for a moment
    after the call ended; MixMonitor writes it as the call goes)."""
    size = -1
    while time.monotonic() < deadline:
        now = path.stat().st_size if path.exists() else -1
        if now > 44 and now == size:
            try:
                return measure(path)
            except (EOFError, wave.Error):
                pass  # the header not yet final
        size = now
        time.sleep(0.5)
    return measure(path) if path.exists() else 0.0


class SharedStep:
    """One step per round for the probes that read it (one inbound call for inbound_call and
    ivr; the agent going ready for agent_ready and queue_routing): the first to ask runs
    ``step``, the others wait for its result."""

    def __init__(self, step: Callable[[Settings], CallResult], wait_s: float) -> None:
        self._step, self._wait_s = step, wait_s
        self._lock = threading.Lock()
        self._at = -SHARE_S
        self._done = threading.Event()
        self._result: CallResult | None = None

    def get(self, settings: Settings) -> CallResult:
        with self._lock:
            mine = time.monotonic() - self._at > SHARE_S
            if mine:
                self._at, self._done, self._result = time.monotonic(), threading.Event(), None
            done = self._done
        if mine:
            try:
                self._result = self._step(settings)
            except Exception as err:  # noqa: BLE001 - the reader reports it
                self._result = CallResult(None, 0.0, f"{type(err).__name__}: {err}")
            finally:
                done.set()
        done.wait(self._wait_s)
        if self._result is None:
            raise CallProbeFailed("the shared step gave no result")
        return self._result


def _inbound_step(settings: Settings) -> CallResult:
    ensure_lines(settings)
    return lab_call(settings, f"PJSIP/{PROBE_DID}@{PROBE_ACCOUNT}", "48600999000",
                    tone_seconds, "the prompt")


_inbound = SharedStep(_inbound_step, ANSWER_WITHIN_S + HOLD_S + 10)


def inbound_call(settings: Settings) -> str:
    result = _inbound.get(settings)
    if result.answered_s is None:
        raise CallProbeFailed(result.detail)
    return result.detail


def ivr(settings: Settings) -> str:
    result = _inbound.get(settings)
    if result.answered_s is None:
        raise CallProbeFailed(result.detail)
    if result.heard_s < PROMPT_MIN_S:
        raise CallProbeFailed(f"prompt not heard: {result.detail}")
    return result.detail


def outbound_call(settings: Settings) -> str:
    ensure_lines(settings)
    result = lab_call(settings, f"PJSIP/{LAB_ANSWERS}@deskphone-{PROBE_PHONE}", PROBE_PHONE,
                      voiced_seconds, "the far end's voice")
    if result.answered_s is None:
        raise CallProbeFailed(result.detail)
    if result.heard_s < VOICED_MIN_S:
        raise CallProbeFailed(f"the far end not heard: {result.detail}")
    return result.detail
