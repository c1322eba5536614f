"""ARI throughput: originate → StasisStart → answer → hang-up cycles per second.

Two loops in the same run, against the same real Asterisk:
- ``bare``: this process owns a Stasis app and answers/hangs up itself with the
  thin ARI client (the floor of what Python + Asterisk can do);
- ``controlplane``: the probe calls go to the real control plane daemon
  (app ``centrala``, args ``selftest``), which answers and hangs up them through
  its event reader, per-call dispatch and Redis.
Both keep ``--inflight`` calls in flight for ``--seconds``. Printed: cycles/s,
their ratio, and CPU seconds per 1000 cycles for Asterisk, the daemon and this
process (per-process counters from /proc).

Usage: python bench/ari_throughput.py [--seconds 10] [--inflight 8] [--rounds 5] [--json]
The loops alternate in rounds, so the machine's other load falls on both alike.
Runs its own isolated platform (no lab) under /tmp/centrala-bench; needs root.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import until  # noqa: E402

from controlplane import stack, supervisor  # noqa: E402
from controlplane.config import load_settings  # noqa: E402
from controlplane.engine import events as ev  # noqa: E402
from controlplane.engine.ari_ import AriClient, AriError  # noqa: E402
from controlplane.health import check_ari  # noqa: E402

ENV = {
    "CENTRALA_RUNTIME_DIR": "/tmp/centrala-bench", "CENTRALA_SIP_PORT": "26060",
    "CENTRALA_ARI_PORT": "29088", "CENTRALA_AMI_PORT": "26038", "CENTRALA_REDIS_PORT": "27390",
    "CENTRALA_WEB_PORT": "29080", "CENTRALA_LAB_SIP_PORT": "26080", "CENTRALA_LAB_AMI_PORT": "26048",
    "CENTRALA_RTP_RANGE": "24000-25999", "CENTRALA_LAB_RTP_RANGE": "26000-27999",
}
CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def asterisk_pid(settings) -> int:  # type: ignore[no-untyped-def]
    return int((settings.runtime_dir / "platform" / "run" / "asterisk.pid").read_text())


class Observer:
    """One events connection for the whole run (subscribed to all): resolves each probe
    call's future when its channel is destroyed. Reconnecting per loop lost the events of
    the first calls of a loop (queued by Asterisk for a socket not yet open), and every lost
    event held a worker for its full timeout."""

    def __init__(self) -> None:
        self.done: dict[str, asyncio.Future[None]] = {}

    async def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.ChannelDestroyed) and event.channel.id in self.done:
            fut = self.done.pop(event.channel.id)
            if not fut.done():
                fut.set_result(None)


async def run_loop(ari: AriClient, observer: Observer, app: str, args: str, seconds: float,
                   inflight: int) -> tuple[int, int]:
    """Keep ``inflight`` probe calls going; count the ones whose channel was destroyed and
    the ones that failed or timed out."""
    deadline = time.monotonic() + seconds
    count = lost = 0

    async def worker() -> None:
        nonlocal count, lost
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            cid = f"bench-{uuid.uuid4().hex[:16]}"
            fut: asyncio.Future[None] = loop.create_future()
            observer.done[cid] = fut
            try:
                await ari.post("/channels", endpoint="Local/wait@centrala-selftest", app=app,
                               appArgs=args, channelId=cid, otherChannelId=cid + "-2")
                await asyncio.wait_for(fut, 10)
                count += 1
            except (AriError, TimeoutError):
                observer.done.pop(cid, None)
                lost += 1

    await asyncio.gather(*(worker() for _ in range(inflight)))
    return count, lost


async def bare_app(ari: AriClient) -> None:
    """The bare loop's own Stasis app: answer and hang up every channel that arrives."""

    async def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.StasisStart):
            try:
                await ari.post(f"/channels/{event.channel.id}/answer")
                await ari.delete(f"/channels/{event.channel.id}")
            except AriError:
                pass

    await ari.run_events(on_event)


async def measure(settings, seconds: float, inflight: int,  # type: ignore[no-untyped-def]
                  rounds: int) -> dict[str, dict[str, float]]:
    """Alternate the two loops in ``rounds`` rounds of ``seconds / rounds`` each, so that the
    machine's other load (2 shared cores) falls on both alike, and sum them per loop."""
    url, user, pw = settings.ari_url, settings.ari_user, settings.ari_password
    cp_pid = stack.pid_alive(settings, "controlplane")
    assert cp_pid is not None
    ast_pid = asterisk_pid(settings)
    loops = (("bare", "bench-bare", ""), ("controlplane", "centrala", "selftest"))
    totals = {name: {"cycles": 0.0, "lost": 0.0, "wall": 0.0, "ast": 0.0, "cp": 0.0, "me": 0.0}
              for name, _, _ in loops}
    pair_ratios: list[float] = []
    observer = Observer()
    async with AriClient(url, user, pw, "bench-bare") as bare, \
            AriClient(url, user, pw, "bench-observer") as watcher:
        watcher._ws_url = lambda: watcher.base_url.replace("http", "ws") + (  # type: ignore[method-assign]
            "/events?app=bench-observer&subscribeAll=true")
        bare_task = asyncio.create_task(bare_app(bare))
        watch_task = asyncio.create_task(watcher.run_events(observer.on_event))
        await bare.connected.wait()
        await watcher.connected.wait()
        for _, app, args in loops:
            await run_loop(bare, observer, app, args, 1.0, inflight)  # warm-up
        for _ in range(rounds):
            rate: dict[str, float] = {}
            for name, app, args in loops:
                before = (cpu_s(ast_pid), cpu_s(cp_pid), time.process_time())
                t0 = time.monotonic()
                n, lost = await run_loop(bare, observer, app, args, seconds / rounds, inflight)
                wall = time.monotonic() - t0
                t = totals[name]
                t["cycles"] += n
                t["lost"] += lost
                t["wall"] += wall
                t["ast"] += cpu_s(ast_pid) - before[0]
                t["cp"] += cpu_s(cp_pid) - before[1]
                t["me"] += time.process_time() - before[2]
                rate[name] = n / wall
            pair_ratios.append(rate["controlplane"] / max(rate["bare"], 1e-9))
        for task in (bare_task, watch_task):
            task.cancel()
        await asyncio.gather(bare_task, watch_task, return_exceptions=True)
    results: dict[str, dict[str, float]] = {}
    for name, t in totals.items():
        per_k = 1000 / max(t["cycles"], 1)
        results[name] = {
            "cycles": t["cycles"], "lost": t["lost"], "cycles_per_s": round(t["cycles"] / t["wall"], 1),
            "asterisk_cpu_s_per_1000": round(t["ast"] * per_k, 3),
            "controlplane_cpu_s_per_1000": round(t["cp"] * per_k, 3),
            "bench_process_cpu_s_per_1000": round(t["me"] * per_k, 3),
            "asterisk_cpu_pct": round(100 * t["ast"] / t["wall"], 1),
        }
    results["ratio"] = {
        "controlplane_over_bare": round(
            results["controlplane"]["cycles_per_s"] / max(results["bare"]["cycles_per_s"], 1e-9), 3),
        "per_round_min": round(min(pair_ratios), 3), "per_round_max": round(max(pair_ratios), 3)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate the two loops this many times (noise falls on both)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(ENV)
    settings = load_settings()
    stack.database(settings)
    stack.start_redis(settings)
    stack.start_platform_asterisk(settings)
    stack.apply_platform_config(settings)
    stack.spawn(settings, "controlplane", [sys.executable, "-m", "controlplane.cli", "controlplane"])
    # measured only once the daemon is on ARI: a fixed pause measured its start-up instead
    until(lambda: check_ari(settings), 60, "the control plane connected to ARI")
    try:
        results = asyncio.run(measure(settings, args.seconds, args.inflight, args.rounds))
    finally:
        supervisor.down(settings)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'loop':14} {'cycles/s':>9} {'lost':>5} {'Asterisk CPU s/1k':>18} {'daemon CPU s/1k':>16} {'bench CPU s/1k':>15}")
    for name in ("bare", "controlplane"):
        r = results[name]
        print(f"{name:14} {r['cycles_per_s']:9.1f} {r['lost']:5.0f} {r['asterisk_cpu_s_per_1000']:18.3f} "
              f"{r['controlplane_cpu_s_per_1000']:16.3f} {r['bench_process_cpu_s_per_1000']:15.3f}")
    ratio = results["ratio"]
    print(f"control plane / bare: {ratio['controlplane_over_bare']:.3f} "
          f"(rounds {ratio['per_round_min']:.3f}-{ratio['per_round_max']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
