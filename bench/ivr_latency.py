"""IVR latency under concurrent calls: a DTMF digit → the next prompt starting, p50/p99.

A menu flow ("Press one.", TTS) is bound to a DID; key 1 plays a short core sound
("Thank you.", ``auth-thankyou``) and returns to the menu, so a caller pressing 1
every few seconds yields one sample per press. For each concurrency level (10,
50, 150 calls by default) the lab carrier calls the DID that many times, ramped
in at ``--rate`` calls/s; each lab caller is an AMI Originate straight into the
``SendDTMF`` application with a string like ``ww1WWWW1WWWW1…`` (``W`` = 1 s
pause), so it presses 1 every ``--period`` seconds and hangs up when the string
ends (no dialplan, no recording on the lab side; its silence is sent as RTP
because ``transmit_silence = yes``).

Measured, once every call of the level is up, over ``--seconds``:
- latency: an ARI observer app on the platform (``subscribeAll=true``) records,
  per caller channel, ``ChannelDtmfReceived`` (digit 1; Asterisk emits it at the
  digit's end) and the next ``PlaybackStarted`` on that channel; both times are
  Asterisk's own event ``timestamp`` (ms resolution). A press whose next
  playback is not the "Thank you" (the press landed while "Thank you" played,
  which does not take keys, so the menu prompt came next) is not a sample; it is
  counted as ``dtmf_ignored``. A press arriving while an earlier one still waits
  for its prompt is counted as ``dtmf_overlapped``;
- CPU % (100 = one core) of the platform Asterisk, the lab Asterisk, the
  control-plane daemon and this process, from /proc/<pid>/stat;
- failed calls: calls originated that never reached a first prompt on the platform
  (plus originates the lab refused).

Usage: python bench/ivr_latency.py [--levels 10,50,150] [--seconds 40] [--json]
Runs its own isolated platform + lab under /tmp/centrala-ivrbench (own ports,
fresh database); needs root. Everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import benchkit  # noqa: E402
from benchkit import LabAmi, ast_ts, basic_auth, cpu_s, log, pct  # noqa: E402

from controlplane.config import Settings, load_settings  # noqa: E402
from dialplan.labcall import carrier_account  # noqa: E402

RUNTIME = "/tmp/centrala-ivrbench"
# Ports of our own: tests use 25xxx/28xxx (RTP 20000-23999), ari_throughput 26xxx/29xxx/27390
# (RTP 24000-27999), a `make up` platform the defaults (RTP 10000-19999). baresip takes lab SIP+20/+21.
ENV = {
    "CENTRALA_RUNTIME_DIR": RUNTIME, "CENTRALA_SIP_PORT": "24060", "CENTRALA_ARI_PORT": "24088",
    "CENTRALA_AMI_PORT": "24038", "CENTRALA_LAB_SIP_PORT": "24080", "CENTRALA_LAB_AMI_PORT": "24048",
    "CENTRALA_LAB_HTTP_PORT": "24098", "CENTRALA_REDIS_PORT": "24390", "CENTRALA_WEB_PORT": "24081",
    "CENTRALA_RTP_RANGE": "30000-31299", "CENTRALA_LAB_RTP_RANGE": "31300-32599",
}
DID = "48221000001"
OBSERVER_APP = "ivrbench-observer"
MENU_TEXT = "Press one."
THANKS = "auth-thankyou"  # a 1 s core sound: "Thank you."
FLOW: dict[str, Any] = {
    "format_version": 1, "id": "ivrbench", "name": "IVR latency bench", "start": "menu",
    "settings": {"language": "en-US", "voice": "en", "max_duration_s": 600},
    "nodes": {
        "menu": {"type": "menu", "prompt": {"tts": MENU_TEXT},
                 "options": {"1": {"next": "thanks"}}, "timeout_s": 20, "max_retries": 1,
                 "fallback": "bye"},
        "thanks": {"type": "play", "prompt": {"sound": THANKS}, "next": "menu"},
        "bye": {"type": "hangup"},
    },
}
SETTLE_S = 2.0  # after the last originate, before the measured window opens
DRAIN_S = 25.0  # at most this long for a level's calls to end after its window


# ---- platform ---------------------------------------------------------------------

def start_platform(settings: Settings) -> dict[str, int]:
    """Fresh isolated platform + lab + control plane; returns the pids to watch."""
    iso = benchkit.start_isolated(settings, lambda st: benchkit.deploy_ivr_flow(st, FLOW, DID))
    return iso.pids


def stop_platform(settings: Settings) -> None:
    benchkit.stop_isolated(settings)


# ---- the lab's callers (AMI) --------------------------------------------------------

def dtmf_script(lead_s: float, period_s: int, presses: int) -> str:
    """``SendDTMF`` digits: wait ``lead_s`` (0.5 s steps), then "1" every ~``period_s`` s."""
    return "w" * max(1, round(lead_s * 2)) + ("1" + "W" * period_s) * presses


# ---- the observer -------------------------------------------------------------------

@dataclass
class Observed:
    """What the platform's ARI told the observer, per platform channel id."""

    caller: dict[str, str] = field(default_factory=dict)  # channel id → caller number
    dtmf: dict[str, list[float]] = field(default_factory=dict)  # times of digit "1"
    plays: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # (time, media)
    events: int = 0

    def take(self, ev: dict[str, Any]) -> None:
        self.events += 1
        kind = ev.get("type")
        ch = ev.get("channel")
        if ch is not None and ch.get("id") not in self.caller:
            self.caller[ch["id"]] = (ch.get("caller") or {}).get("number", "")
        if kind == "ChannelDtmfReceived" and ev.get("digit") == "1":
            self.dtmf.setdefault(ev["channel"]["id"], []).append(ast_ts(ev["timestamp"]))
        elif kind == "PlaybackStarted":
            pb = ev["playback"]
            target = pb.get("target_uri", "")
            if target.startswith("channel:"):
                self.plays.setdefault(target[8:], []).append(
                    (ast_ts(ev["timestamp"]), pb.get("media_uri", "")))


async def observe(settings: Settings, seen: Observed, connected: asyncio.Event) -> None:
    """Feed every platform ARI event to ``seen`` until cancelled (reconnects)."""
    await benchkit.observe(settings, OBSERVER_APP, seen.take, connected)


# ---- one level ---------------------------------------------------------------------

@dataclass
class LevelResult:
    calls: int
    samples: list[float]
    ignored: int
    overlapped: int
    failed: int
    refused: int
    cpu: dict[str, float]
    window_s: float


def pair(dtmf: list[float], plays: list[tuple[float, str]], lo: float, hi: float
         ) -> tuple[list[float], int, int]:
    """Per channel: each press in [lo, hi) against the next playback start after it."""
    samples, ignored, overlapped = [], 0, 0
    events = sorted([(t, 0, "") for t in dtmf] + [(t, 1, m) for t, m in plays])
    pending: float | None = None
    for t, kind, media in events:
        if kind == 0:
            if pending is not None:
                overlapped += lo <= t < hi
            else:
                pending = t
            continue
        if pending is None:
            continue
        if lo <= pending < hi:
            if media.endswith(THANKS):
                samples.append((t - pending) * 1000)
            else:
                ignored += 1
        pending = None
    return samples, ignored, overlapped


async def run_level(settings: Settings, ami: LabAmi, ari: aiohttp.ClientSession, seen: Observed,
                    pids: dict[str, int], level: int, seconds: float, rate: float, period: int,
                    trunk: str) -> LevelResult:
    interval = 1.0 / rate
    ramp = (level - 1) * interval
    t0 = time.time()
    window_start = t0 + ramp + SETTLE_S
    window_end = window_start + seconds
    callers = {f"48600{level:03d}{i:04d}" for i in range(level)}
    refused = 0

    async def originate(i: int) -> None:
        nonlocal refused
        # the call is answered about when it is originated; it must press until the window ends
        lead = random.uniform(1.5, 1.5 + period)
        presses = math.ceil((window_end - (t0 + i * interval) - lead) / (period + 0.35)) + 1
        number = f"48600{level:03d}{i:04d}"
        try:
            reply = await ami.action({
                "Action": "Originate", "Channel": f"PJSIP/{DID}@{trunk}",
                "Application": "SendDTMF", "Data": dtmf_script(lead, period, presses) + ",250",
                "CallerID": f'"{number}" <{number}>', "Timeout": "20000", "Async": "true",
                "ChannelId": f"ivrb-{level}-{i}"})
            ok = reply.get("Response") == "Success"
        except (TimeoutError, OSError):
            ok = False
        refused += not ok

    tasks = []
    for i in range(level):
        await asyncio.sleep(max(0.0, t0 + i * interval - time.time()))
        tasks.append(asyncio.create_task(originate(i)))
    await asyncio.gather(*tasks)
    await asyncio.sleep(max(0.0, window_start - time.time()))
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    before["bench"] = time.process_time()
    await asyncio.sleep(max(0.0, window_end - time.time()))
    wall = time.time() - window_start
    cpu = {name: round(100 * (cpu_s(pid) - before[name]) / wall, 1) for name, pid in pids.items()}
    cpu["bench"] = round(100 * (time.process_time() - before["bench"]) / wall, 1)

    # the callers hang up when their digits run out; wait (bounded), then clear what is left
    deadline = time.monotonic() + DRAIN_S
    left: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        left = await ari_get(ari, settings, "/channels")
        if not left:
            break
        await asyncio.sleep(0.5)
    for ch in left:
        async with ari.delete(f"{settings.ari_url}/channels/{ch['id']}"):
            pass
    if left:
        log(f"level {level}: {len(left)} channels still up after {DRAIN_S:.0f} s; hung up")
    await asyncio.sleep(1.0)

    samples: list[float] = []
    ignored = overlapped = reached = 0
    for ch_id, number in list(seen.caller.items()):
        if number not in callers:
            continue
        plays = seen.plays.get(ch_id, [])
        reached += bool(plays)
        s, ig, ov = pair(seen.dtmf.get(ch_id, []), plays, window_start, window_end)
        samples += s
        ignored += ig
        overlapped += ov
    return LevelResult(level, samples, ignored, overlapped, max(0, level - reached), refused, cpu, wall)


async def ari_get(ari: aiohttp.ClientSession, settings: Settings, path: str) -> Any:
    async with ari.get(settings.ari_url + path) as resp:
        resp.raise_for_status()
        return await resp.json()


async def measure(settings: Settings, pids: dict[str, int], levels: list[int], seconds: float,
                  rate: float, period: int) -> dict[str, LevelResult]:
    seen = Observed()
    connected = asyncio.Event()
    trunk = await asyncio.to_thread(carrier_account, settings, DID)
    observer = asyncio.create_task(observe(settings, seen, connected))
    results: dict[str, LevelResult] = {}
    try:
        await asyncio.wait_for(connected.wait(), 10)
        async with LabAmi(settings) as ami, aiohttp.ClientSession(
                headers={"Authorization": basic_auth(settings)}) as ari:
            for level in levels:
                log(f"level {level}: ramping in at {rate:g} calls/s, then {seconds:g} s measured")
                r = await run_level(settings, ami, ari, seen, pids, level, seconds, rate, period, trunk)
                results[str(level)] = r
                log(f"level {level}: {len(r.samples)} samples, p50 {summary(r)['p50_ms']} ms, "
                    f"{r.failed} failed, CPU {r.cpu}")
    finally:
        observer.cancel()
        await asyncio.gather(observer, return_exceptions=True)
    return results


def summary(r: LevelResult) -> dict[str, Any]:
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "p50_ms": ms(pct(r.samples, 0.50)), "p99_ms": ms(pct(r.samples, 0.99)),
        "samples": len(r.samples),
        "asterisk_cpu_pct": r.cpu["platform"], "lab_cpu_pct": r.cpu["lab"],
        "controlplane_cpu_pct": r.cpu["controlplane"], "failed_calls": r.failed + r.refused,
        "calls": r.calls, "mean_ms": ms(statistics.fmean(r.samples) if r.samples else None),
        "max_ms": ms(max(r.samples) if r.samples else None), "dtmf_ignored": r.ignored,
        "dtmf_overlapped": r.overlapped, "bench_cpu_pct": r.cpu["bench"],
        "window_s": round(r.window_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="10,50,150", help="simultaneous calls per level")
    parser.add_argument("--seconds", type=float, default=40, help="measured seconds per level")
    parser.add_argument("--rate", type=float, default=15, help="calls originated per second")
    parser.add_argument("--period", type=int, default=4, help="seconds between presses (W units)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if os.geteuid() != 0:
        print("needs root (chroot and bind mounts for Asterisk)", file=sys.stderr)
        return 2
    os.environ.update(ENV)
    settings = load_settings()
    started = time.monotonic()
    budget = sum((n - 1) / args.rate + SETTLE_S + args.seconds + DRAIN_S + 5 for n in levels) + 20
    try:
        log("starting platform, lab and control plane")
        pids = start_platform(settings)
        log(f"ready in {time.monotonic() - started:.0f} s; pids {pids}")
        results = asyncio.run(asyncio.wait_for(
            measure(settings, pids, levels, args.seconds, args.rate, args.period), budget))
    finally:
        log("stopping everything")
        stop_platform(settings)
    out = {k: summary(v) for k, v in results.items()}
    log(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"DTMF '1' -> next prompt started (Asterisk event times); window {args.seconds:g} s per "
          f"level; CPU % of one core (2 cores)")
    print(f"{'calls':>5} {'samples':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'ignored':>7} "
          f"{'failed':>6} {'Asterisk':>8} {'lab':>6} {'ctrlpl':>6} {'bench':>6}")
    for k, r in out.items():
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.0f}"

        print(f"{k:>5} {r['samples']:7d} {f(r['p50_ms']):>7} {f(r['p99_ms']):>7} "
              f"{f(r['max_ms']):>7} {r['dtmf_ignored']:7d} {r['failed_calls']:6d} "
              f"{r['asterisk_cpu_pct']:8.1f} {r['lab_cpu_pct']:6.1f} "
              f"{r['controlplane_cpu_pct']:6.1f} {r['bench_cpu_pct']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
