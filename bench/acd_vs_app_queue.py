"""Centrala's ARI routing vs Asterisk's own app_queue: the same lab traffic, the same run.

One isolated platform + lab (``/tmp/centrala-acdbench``, own ports, fresh
database; helpers in ``bench/acd_bench_lab.py``). ``--agents`` lab desk phones
(auto-answer, 1400 Hz tone) are bound to agent users in one queue: strategy
``longest_idle``, wrap-up 0, recording never, no announcements, ring timeout
15 s. The agents log in and get ready with the desk-phone feature codes ``*50``
and ``*51``. The DID is bound to a flow whose start node is that queue.

Traffic, identical for both runs: ``--callers`` lab callers (AMI Originate from
the lab carrier to the DID into ``Wait(N)``, so each hangs up N s after the
platform answers, N uniform in ``--talk`` from an RNG seeded per caller slot,
``--seed``) ramped in at ``--rate`` calls/s and replaced as they end, for
``--seconds``; then everything left is hung up.

1. **centrala**: the control plane routes (ARI; its queue service picks agents).
2. **app_queue**: the control plane is stopped; in this runtime only the DID is
   re-pointed at ``Answer(), Queue(acdbench)`` with the same members as static
   ``PJSIP/demo-10xx`` (strategy ``leastrecent``, ``ringinuse=no``, same ring
   timeout, ``wrapuptime=0``, ``retry=1``, no announcements).

Measured per run, over the traffic window (all times are Asterisk's own event
timestamps, from an ARI observer app with ``subscribeAll=true``):
- calls offered (caller channels the platform created), answered (caller shared
  a bridge with an agent leg), abandoned (the caller hung up first), failed
  (gone before the shortest talk time without an agent: the platform refused it);
  answers are cross-checked against the system's own queue log (``acd_queue_log``
  ``answer`` rows, app_queue's ``queue_log`` ``CONNECT`` lines);
- CPU-s of the platform Asterisk and the control plane (``/proc/<pid>/stat``;
  Redis and the lab for information), and (Asterisk + control plane) CPU-ms per
  answered call; the ratio centrala / app_queue of that figure, then the same with each
  run's CPU divided by its lab Asterisk's (same traffic both times: it takes out the
  machine's speed, which drifts between the runs), and the platform Asterisk's share alone;
- agent free → next offer: an agent leg's ``ChannelDestroyed`` → the next
  ``ChannelCreated`` of an agent leg to that phone, counted only when a caller
  was waiting at that moment (more unconnected callers older than 0.5 s than
  offers ringing), p50/p95;
- teardown: caller hang-up → its agent leg destroyed, p50/p95.

Usage: python bench/acd_vs_app_queue.py [--seconds 120] [--callers 30] [--agents 10] [--idle 10] [--json]
Needs root. Exits non-zero with a message when a part does not come up or a run
answers no call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
import benchkit  # noqa: E402
from acd_bench_lab import (  # noqa: E402
    APPQ_RETRY_S,
    DID,
    ENV,
    Leg,
    Observed,
    Platform,
    answers_in_own_log,
    login_agents,
    observe,
    start_platform,
    stop_platform,
    switch_to_app_queue,
)
from benchkit import BenchError, LabAmi, basic_auth, cpu_s, log  # noqa: E402

from controlplane import stack  # noqa: E402
from controlplane.config import Settings, load_settings  # noqa: E402
from dialplan.labcall import carrier_account  # noqa: E402

WAITING_MIN_AGE_S = 0.5  # a caller younger than this may not be in the queue yet
DRAIN_S = 20.0


@dataclass(frozen=True)
class Traffic:
    callers: int
    seconds: float
    rate: float
    talk: tuple[float, float]
    seed: int
    idle_s: float = 10.0


async def run_traffic(ami: LabAmi, trunk: str, run: int, tr: Traffic, t0: float) -> dict[str, int]:
    """Keep ``tr.callers`` lab calls up until ``t0 + tr.seconds``; returns originate counts."""
    counts = {"originated": 0, "refused": 0}
    t_end = t0 + tr.seconds

    async def slot(i: int) -> None:
        rng = random.Random(f"{tr.seed}:{i}")  # the same talk times in every run
        await asyncio.sleep(max(0.0, t0 + i / tr.rate - time.time()))
        n = 0
        while time.time() < t_end:
            talk = rng.uniform(*tr.talk)
            uid = f"{ami.prefix}{run}-{i}-{n}"
            number = f"486{run}{i:03d}{n:04d}"
            n += 1
            ended = ami.watch(uid)
            try:
                reply = await ami.action({
                    "Action": "Originate", "Channel": f"PJSIP/{DID}@{trunk}",
                    "Application": "Wait", "Data": f"{talk:.1f}",
                    "CallerID": f'"{number}" <{number}>', "Timeout": "20000", "Async": "true",
                    "ChannelId": uid})
                ok = reply.get("Response") == "Success"
            except (TimeoutError, OSError):
                ok = False
            if not ok:
                counts["refused"] += 1
                ami.ended.pop(uid, None)
                await asyncio.sleep(1.0)
                continue
            counts["originated"] += 1
            await ended

    tasks = [asyncio.create_task(slot(i)) for i in range(tr.callers)]
    try:
        await asyncio.sleep(max(0.0, t_end - time.time()))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return counts


async def ari_json(ari: aiohttp.ClientSession, settings: Settings, path: str) -> Any:
    async with ari.get(settings.ari_url + path) as resp:
        resp.raise_for_status()
        return await resp.json()


async def drain(ari: aiohttp.ClientSession, settings: Settings, label: str) -> None:
    """Hang up every platform channel left and wait (bounded) until none is left."""
    for ch in await ari_json(ari, settings, "/channels"):
        async with ari.delete(f"{settings.ari_url}/channels/{ch['id']}"):
            pass
    deadline = time.monotonic() + DRAIN_S
    left = await ari_json(ari, settings, "/channels")
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # polling Asterisk: there is no local event to wait on
        left = await ari_json(ari, settings, "/channels")
    if left:
        raise BenchError(f"{label}: {len(left)} platform channels still up {DRAIN_S:.0f} s "
                         "after hanging them up")
    await asyncio.sleep(2.0)  # late events, and the agents become free again


# ---- one run ---------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    """The nearest-rank quantile, to 0.1."""
    value = benchkit.pct(values, q)
    return None if value is None else round(value, 1)


def analyse(seen: Observed, t0: float, t1: float, talk_min: float) -> dict[str, Any]:
    """Counts and latencies of the window [t0, t1) from the observer's legs."""
    legs = list(seen.legs.values())
    callers = [g for g in legs if g.kind == "caller"]
    agents = [g for g in legs if g.kind == "agent"]
    mine = [c for c in callers if t0 <= c.created < t1]

    def connected_by(g: Leg, t: float) -> bool:
        return g.connected is not None and g.connected <= t

    def alive(g: Leg, t: float) -> bool:
        return g.created <= t and (g.destroyed is None or g.destroyed > t)

    answered = [c for c in mine if connected_by(c, t1)]
    gone = [c for c in mine if not connected_by(c, t1) and c.destroyed is not None
            and c.destroyed <= t1]
    failed = [c for c in gone if (c.destroyed or 0.0) - c.created < talk_min - 1.0]

    def waiting(t: float) -> bool:
        unserved = sum(1 for c in callers if alive(c, t) and c.created <= t - WAITING_MIN_AGE_S
                       and not connected_by(c, t))
        ringing = sum(1 for a in agents if alive(a, t) and not connected_by(a, t))
        return unserved > ringing

    free_to_offer: list[float] = []
    not_offered = 0
    by_phone: dict[str, list[Leg]] = {}
    for a in sorted(agents, key=lambda g: g.created):
        by_phone.setdefault(a.phone, []).append(a)
    for series in by_phone.values():
        for a in series:
            d = a.destroyed
            if d is None or not t0 <= d < t1 or not waiting(d):
                continue
            nxt = next((b for b in series if b.created > d), None)
            if nxt is not None and nxt.created <= t1:
                free_to_offer.append((nxt.created - d) * 1000)
            else:
                not_offered += 1
    teardown: list[float] = []
    for c in answered:
        agent_gone = seen.legs[c.peer].destroyed if c.peer else None
        if c.destroyed is not None and c.destroyed < t1 and agent_gone is not None:
            teardown.append((agent_gone - c.destroyed) * 1000)
    return {
        "offered": len(mine), "answered": len(answered), "abandoned": len(gone) - len(failed),
        "failed": len(failed), "unfinished": len(mine) - len(answered) - len(gone),
        "free_to_offer_p50_ms": pct(free_to_offer, 0.5),
        "free_to_offer_p95_ms": pct(free_to_offer, 0.95),
        "free_to_offer_samples": len(free_to_offer), "free_not_offered": not_offered,
        # how many waited past a second (the p95 read ~1.5 s in some runs and ~30 ms in others)
        "free_to_offer_over_1s": sum(1 for v in free_to_offer if v > 1000),
        "teardown_p50_ms": pct(teardown, 0.5), "teardown_p95_ms": pct(teardown, 0.95),
    }


async def one_run(name: str, run: int, p: Platform, ami: LabAmi, ari: aiohttp.ClientSession,
                  seen: Observed, trunk: str, tr: Traffic, pids: dict[str, int],
                  counters: Path | None = None) -> dict[str, Any]:
    log(f"{name}: {tr.callers} callers for {tr.seconds:g} s (ramp {tr.rate:g}/s)")
    t0 = time.time()
    before = {k: cpu_s(pid) for k, pid in pids.items()}
    counted_before = read_counts(counters)
    counts = await run_traffic(ami, trunk, run, tr, t0)
    t1 = time.time()
    counted = {k: v - counted_before.get(k, 0) for k, v in read_counts(counters).items()}
    try:
        cpu = {k: round(cpu_s(pid) - before[k], 2) for k, pid in pids.items()}
    except FileNotFoundError as err:
        raise BenchError(f"{name}: a measured process died during the run ({err})") from err
    await drain(ari, p.settings, name)
    out = analyse(seen, t0, t1, tr.talk[0])
    out["answered_own_log"] = await asyncio.to_thread(answers_in_own_log, p, name, t0, t1)
    if out["answered_own_log"] != out["answered"]:
        log(f"{name}: WARNING the observer saw {out['answered']} answers, the system's own "
            f"queue log {out['answered_own_log']}")
    ast, cp = cpu["asterisk"], cpu.get("controlplane", 0.0)
    out.update({
        "window_s": round(t1 - t0, 1), **counts,
        "asterisk_cpu_s": ast, "controlplane_cpu_s": cp,
        "redis_cpu_s": cpu.get("redis", 0.0), "lab_cpu_s": cpu["lab"],
        "cpu_ms_per_answered": round(1000 * (ast + cp) / out["answered"], 1)
        if out["answered"] else None,
    })
    if counters is not None and out["answered"]:
        out["per_answered"] = {k: round(v / out["answered"], 1)
                               for k, v in sorted(counted.items()) if v}
    log(f"{name}: {json.dumps(out)}")
    return out


def by_the_lab(c: dict[str, Any], a: dict[str, Any]) -> dict[str, float | None]:
    """The same figures with each run's CPU divided by its lab Asterisk's. The lab carries
    the same traffic in both runs, so its CPU measures how fast the machine ran during each
    (two runs a minute apart here differ by up to a tenth): what is left is the systems'
    own difference. ``asterisk_alone``: the platform Asterisk's CPU per answered call only."""
    if not (c["answered"] and a["answered"] and c["lab_cpu_s"] and a["lab_cpu_s"]):
        return {"ratio_by_lab": None, "asterisk_alone_by_lab": None}

    def per(run: dict[str, Any], cpu: float) -> float:
        return cpu / run["lab_cpu_s"] / run["answered"]
    base = per(a, a["asterisk_cpu_s"])
    return {"ratio_by_lab": round(per(c, c["asterisk_cpu_s"] + c["controlplane_cpu_s"]) / base, 2),
            "asterisk_alone_by_lab": round(per(c, c["asterisk_cpu_s"]) / base, 2)}


async def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU-s each process spends in ``seconds`` with the agents ready and no call, scaled to
    one minute: the part of a run's figure that is not the calls' (timers, sweeps, polls)."""
    if seconds <= 0:
        return {}
    before = {k: cpu_s(pid) for k, pid in pids.items()}
    await asyncio.sleep(seconds)
    per_min = {k: round((cpu_s(pid) - before[k]) * 60 / seconds, 2) for k, pid in pids.items()}
    log(f"idle, CPU-s per minute: {json.dumps(per_min)}")
    return per_min


def read_counts(path: Path | None) -> dict[str, int]:
    """The running totals ``bench/cp_counters.py`` keeps (nothing without ``--count``)."""
    if path is None or not path.exists():
        return {}
    return dict(json.loads(path.read_text())["counts"])


async def measure(p: Platform, tr: Traffic, counters: Path | None = None) -> dict[str, Any]:
    settings = p.settings
    seen = Observed(set(p.phones))
    connected = asyncio.Event()
    trunk = await asyncio.to_thread(carrier_account, settings, DID)
    observer = asyncio.create_task(observe(settings, seen, connected))
    results: dict[str, Any] = {}
    try:
        await asyncio.wait_for(connected.wait(), 10)
        async with LabAmi(settings, "acdb", events="call") as ami, aiohttp.ClientSession(
                headers={"Authorization": basic_auth(settings)}) as ari:
            pids = {k: p.pids[k] for k in ("asterisk", "controlplane", "redis", "lab")}
            results["idle"] = await idle_cpu(pids, tr.idle_s)
            results["centrala"] = await one_run("centrala", 1, p, ami, ari, seen, trunk, tr, pids,
                                                counters)
            log("stopping the control plane; the DID goes to app_queue")
            await asyncio.to_thread(stack.stop_process, settings, "controlplane")
            if stack.pid_alive(settings, "controlplane") is not None:
                raise BenchError("the control plane is still running after stop")
            await asyncio.to_thread(switch_to_app_queue, p)
            await asyncio.sleep(2.0)  # app_queue learns the members' device states
            pids = {k: p.pids[k] for k in ("asterisk", "redis", "lab")}
            results["app_queue"] = await one_run("app_queue", 2, p, ami, ari, seen, trunk, tr, pids)
    finally:
        observer.cancel()
        await asyncio.gather(observer, return_exceptions=True)
    c, a = results["centrala"]["cpu_ms_per_answered"], results["app_queue"]["cpu_ms_per_answered"]
    results["ratio_cpu_per_answered"] = round(c / a, 2) if c and a else None
    results.update(by_the_lab(results["centrala"], results["app_queue"]))
    results["observer_events"] = seen.events
    return results


# ---- report ----------------------------------------------------------------------------

ROWS = (
    ("calls offered", "offered"), ("answered", "answered"),
    ("  by its own queue log", "answered_own_log"), ("abandoned", "abandoned"),
    ("failed", "failed"), ("still waiting at end", "unfinished"),
    ("Asterisk CPU-s", "asterisk_cpu_s"), ("control plane CPU-s", "controlplane_cpu_s"),
    ("CPU-ms / answered call", "cpu_ms_per_answered"),
    ("agent free->offer p50 ms", "free_to_offer_p50_ms"),
    ("agent free->offer p95 ms", "free_to_offer_p95_ms"),
    ("  samples", "free_to_offer_samples"), ("  of which over 1 s", "free_to_offer_over_1s"),
    ("  freed, no offer by end", "free_not_offered"),
    ("caller gone->agent leg gone p50", "teardown_p50_ms"),
    ("caller gone->agent leg gone p95", "teardown_p95_ms"),
    ("redis CPU-s (info)", "redis_cpu_s"), ("lab Asterisk CPU-s (info)", "lab_cpu_s"),
)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"{args.callers} callers, {args.agents} agents, {args.seconds:g} s each, talk "
          f"{args.talk} s; app_queue retry={APPQ_RETRY_S} s; CPU = user+system seconds")
    print(f"{'':34} {'centrala':>10} {'app_queue':>10}")
    for label, key in ROWS:
        vals = [results[r][key] for r in ("centrala", "app_queue")]
        print(f"{label:34} " + " ".join(f"{'-' if v is None else v:>10}" for v in vals))
    if results.get("idle"):
        idle = results["idle"]
        print(f"idle before the runs, CPU-s per minute (info): control plane "
              f"{idle['controlplane']}, Asterisk {idle['asterisk']}")
    print(f"ratio centrala / app_queue, (Asterisk + control plane) CPU per answered call: "
          f"{results['ratio_cpu_per_answered']}")
    print(f"  the same, each run's CPU divided by its lab Asterisk's (the machine's speed in "
          f"that run): {results['ratio_by_lab']}; the platform Asterisk alone: "
          f"{results['asterisk_alone_by_lab']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="traffic seconds per run")
    parser.add_argument("--callers", type=int, default=30, help="concurrent lab callers")
    parser.add_argument("--agents", type=int, default=10, help="agents (desk phones)")
    parser.add_argument("--talk", default="20-30", help="caller hangs up this many s after answer")
    parser.add_argument("--rate", type=float, default=5, help="ramp: calls originated per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", action="store_true",
                        help="run the control plane under bench/cp_counters.py and print SQL, "
                             "Redis, ARI and task counts per answered call (CPU figures then "
                             "include the counters' own cost)")
    parser.add_argument("--idle", type=float, default=10,
                        help="seconds of CPU measured with the agents ready and no call, "
                             "before the runs (printed per minute, for information)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    lo, _, hi = args.talk.partition("-")
    talk = (float(lo), float(hi or lo))
    if os.geteuid() != 0:
        print("acd_vs_app_queue: needs root (chroot and bind mounts for Asterisk)", file=sys.stderr)
        return 2
    os.environ.update(ENV)
    settings = load_settings()
    tr = Traffic(args.callers, args.seconds, args.rate, talk, args.seed, args.idle)
    started = time.monotonic()
    try:
        log("starting platform, lab and control plane")
        counters = settings.runtime_dir / "cp-counters.json" if args.count else None
        cp_argv = None if counters is None else [
            sys.executable, str(Path(__file__).resolve().parent / "cp_counters.py"),
            str(counters), "controlplane"]
        p = start_platform(settings, args.agents, cp_argv)
        log(f"ready in {time.monotonic() - started:.0f} s; pids {p.pids}; logging agents in")
        login_agents(p)
        budget = 2 * (args.seconds + DRAIN_S + 30) + 60
        results = asyncio.run(asyncio.wait_for(measure(p, tr, counters), budget))
    except (BenchError, TimeoutError) as err:
        print(f"acd_vs_app_queue: error: {err}", file=sys.stderr)
        return 1
    finally:
        log("stopping everything")
        stop_platform(settings)
    log(f"total {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps(results))
    else:
        report(results, args)
        if "per_answered" in results["centrala"]:
            print("control plane per answered call (counters):")
            for k, v in results["centrala"]["per_answered"].items():
                print(f"  {k:60} {v:8.1f}")
    dead = [r for r in ("centrala", "app_queue") if not results[r]["answered"]]
    if dead:
        print(f"acd_vs_app_queue: error: no call was answered in: {', '.join(dead)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
