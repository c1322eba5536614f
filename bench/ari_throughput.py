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

Usage: python bench/ari_throughput.py [--seconds 10] [--inflight 8] [--json]
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

from controlplane import stack, supervisor  # noqa: E402
from controlplane.config import load_settings  # noqa: E402
from controlplane.engine import events as ev  # noqa: E402
from controlplane.engine.ari_ import AriClient, AriError  # noqa: E402

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


async def run_loop(ari: AriClient, observer: AriClient, app: str, args: str, seconds: float,
                   inflight: int) -> int:
    """Keep ``inflight`` probe calls going; count the ones whose channel was destroyed."""
    done: dict[str, asyncio.Future[None]] = {}

    async def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.ChannelDestroyed) and event.channel.id in done:
            fut = done.pop(event.channel.id)
            if not fut.done():
                fut.set_result(None)

    reader = asyncio.create_task(observer.run_events(on_event))
    await observer.connected.wait()
    deadline = time.monotonic() + seconds
    count = 0

    async def worker() -> None:
        nonlocal count
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            cid = f"bench-{uuid.uuid4().hex[:16]}"
            fut: asyncio.Future[None] = loop.create_future()
            done[cid] = fut
            try:
                await ari.post("/channels", endpoint="Local/wait@centrala-selftest", app=app,
                               appArgs=args, channelId=cid, otherChannelId=cid + "-2")
                await asyncio.wait_for(fut, 10)
                count += 1
            except (AriError, TimeoutError):
                done.pop(cid, None)

    await asyncio.gather(*(worker() for _ in range(inflight)))
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    return count


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


async def measure(settings, seconds: float, inflight: int) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    url, user, pw = settings.ari_url, settings.ari_user, settings.ari_password
    results: dict[str, dict[str, float]] = {}
    cp_pid = stack.pid_alive(settings, "controlplane")
    assert cp_pid is not None
    ast_pid = asterisk_pid(settings)
    async with AriClient(url, user, pw, "bench-bare") as bare, \
            AriClient(url, user, pw, "bench-observer") as observer:
        observer._ws_url = lambda: observer.base_url.replace("http", "ws") + (  # type: ignore[method-assign]
            "/events?app=bench-observer&subscribeAll=true")
        bare_task = asyncio.create_task(bare_app(bare))
        await bare.connected.wait()
        for name, app, args in (("bare", "bench-bare", ""), ("controlplane", "centrala", "selftest")):
            await run_loop(bare, observer, app, args, 1.0, inflight)  # warm-up
            before = (cpu_s(ast_pid), cpu_s(cp_pid), time.process_time())
            t0 = time.monotonic()
            n = await run_loop(bare, observer, app, args, seconds, inflight)
            wall = time.monotonic() - t0
            ast, cp, me = (cpu_s(ast_pid) - before[0], cpu_s(cp_pid) - before[1],
                           time.process_time() - before[2])
            per_k = 1000 / max(n, 1)
            results[name] = {
                "cycles": n, "cycles_per_s": round(n / wall, 1),
                "asterisk_cpu_s_per_1000": round(ast * per_k, 3),
                "controlplane_cpu_s_per_1000": round(cp * per_k, 3),
                "bench_process_cpu_s_per_1000": round(me * per_k, 3),
                "asterisk_cpu_pct": round(100 * ast / wall, 1),
            }
        bare_task.cancel()
        await asyncio.gather(bare_task, return_exceptions=True)
    results["ratio"] = {"controlplane_over_bare": round(
        results["controlplane"]["cycles_per_s"] / max(results["bare"]["cycles_per_s"], 1e-9), 3)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(ENV)
    settings = load_settings()
    stack.database(settings)
    stack.start_redis(settings)
    stack.start_platform_asterisk(settings)
    stack.apply_platform_config(settings)
    stack.spawn(settings, "controlplane", [sys.executable, "-m", "controlplane.cli", "controlplane"])
    time.sleep(3)
    try:
        results = asyncio.run(measure(settings, args.seconds, args.inflight))
    finally:
        supervisor.down(settings)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'loop':14} {'cycles/s':>9} {'Asterisk CPU s/1k':>18} {'daemon CPU s/1k':>16} {'bench CPU s/1k':>15}")
    for name in ("bare", "controlplane"):
        r = results[name]
        print(f"{name:14} {r['cycles_per_s']:9.1f} {r['asterisk_cpu_s_per_1000']:18.3f} "
              f"{r['controlplane_cpu_s_per_1000']:16.3f} {r['bench_process_cpu_s_per_1000']:15.3f}")
    print(f"control plane / bare: {results['ratio']['controlplane_over_bare']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
