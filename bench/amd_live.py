"""Live AMD figures: the centrala detector vs Asterisk's AMD() on the same calls.

N calls to the lab's human number (``100XXXX``: "Hello?" then silence) and N to
its answering machine (``200XXXX``), through the trunk, ``--concurrency`` at a
time. Each call runs :func:`controlplane.amd_live.detect` (snoop → chan_websocket
slin16 → StreamingDetector, and a second snoop → ``AMD()``). Printed per label:
verdict counts of both detectors, decision times from the answer (median / p90 /
max), answer → first audio frame, detector CPU per call, and this process's CPU.

Usage: python bench/amd_live.py [--calls 10] [--concurrency 2] [--keep] [--json]
Starts its own isolated platform + lab under /tmp/centrala-amdlive (needs root)
and stops it afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controlplane import asterisk, stack, supervisor  # noqa: E402
from controlplane.amd_live.probe import AmdProbe, ProbeCall  # noqa: E402
from controlplane.config import load_settings  # noqa: E402

ENV = {
    "CENTRALA_RUNTIME_DIR": "/tmp/centrala-amdlive",
    "CENTRALA_SIP_PORT": "23060",
    "CENTRALA_ARI_PORT": "23088",
    "CENTRALA_AMI_PORT": "23038",
    "CENTRALA_REDIS_PORT": "23390",
    "CENTRALA_WEB_PORT": "23081",
    "CENTRALA_LAB_SIP_PORT": "23080",
    "CENTRALA_LAB_AMI_PORT": "23048",
    "CENTRALA_LAB_HTTP_PORT": "23098",
    "CENTRALA_RTP_RANGE": "16000-17999",
    "CENTRALA_LAB_RTP_RANGE": "18000-19999",
}
NUMBERS = {"human": "100{:04d}", "machine": "200{:04d}"}


def start(settings) -> None:  # type: ignore[no-untyped-def]
    stack.database(settings)
    stack.start_redis(settings)
    platform = stack.start_platform_asterisk(settings)
    stack.start_lab(settings)
    deadline = time.monotonic() + 40
    while "Registered" not in platform.cli("pjsip show registrations"):
        if time.monotonic() > deadline:
            raise SystemExit("trunk did not register")
        time.sleep(0.3)


async def run(settings, calls: int, concurrency: int) -> dict[str, list[ProbeCall]]:  # type: ignore[no-untyped-def]
    sem = asyncio.Semaphore(concurrency)
    out: dict[str, list[ProbeCall]] = {k: [] for k in NUMBERS}
    async with AmdProbe(settings, "centrala-amdbench", prefix="amdbench") as probe:

        async def one(kind: str, i: int) -> None:
            async with sem:
                out[kind].append(await probe.call(NUMBERS[kind].format(i)))

        jobs = [one(kind, i) for i in range(calls) for kind in NUMBERS]  # interleaved
        await asyncio.gather(*jobs)
        for _ in range(50):  # channels hung up by ARI go away asynchronously
            if not (left := await probe.leftovers()):
                break
            await asyncio.sleep(0.2)
        if left:
            print(f"LEFT BEHIND: {left}", file=sys.stderr)
    return out


def _stats(values: list[int | None]) -> dict[str, float | None]:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"median": None, "p90": None, "max": None}
    return {
        "median": statistics.median(xs),
        "p90": xs[min(len(xs) - 1, int(0.9 * len(xs)))],
        "max": xs[-1],
    }


def summarise(out: dict[str, list[ProbeCall]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for kind, rows in out.items():
        res = [c.result for c in rows]
        summary[kind] = {
            "calls": len(res),
            "centrala": dict(Counter(str(r.centrala) for r in res)),
            "app_amd": dict(Counter(str(r.app_amd_status) for r in res)),
            "centrala_causes": dict(Counter(r.cause.split("-")[0] for r in res)),
            "app_amd_causes": dict(Counter((r.app_amd_cause or "None").split("-")[0] for r in res)),
            "centrala_ms": _stats([r.decision_ms for r in res]),
            "app_amd_ms": _stats([r.app_amd_ms for r in res]),
            "setup_ms": _stats([r.setup_ms for r in res]),
            "detector_cpu_ms_mean": round(statistics.mean(r.detector_cpu_ms for r in res), 1),
            "timed_out": sum(r.timed_out for r in res),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10, help="calls per number type")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(ENV)
    settings = load_settings()
    start(settings)
    try:
        cpu0, t0 = time.process_time(), time.monotonic()
        out = asyncio.run(run(settings, args.calls, args.concurrency))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    finally:
        if not args.keep:
            supervisor.down(settings)
            asterisk.release_mounts(asterisk.installation(settings), settings.runtime_dir)
    summary = summarise(out)
    summary["run"] = {
        "wall_s": round(wall, 1),
        "bench_process_cpu_s": round(cpu, 2),
        "concurrency": args.concurrency,
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    for kind in NUMBERS:
        s = summary[kind]
        print(f"{kind:8} calls={s['calls']}  centrala={s['centrala']}  AMD()={s['app_amd']}")
        print(f"{'':8} causes: centrala={s['centrala_causes']}  AMD()={s['app_amd_causes']}")
        print(
            f"{'':8} decision ms from answer (median/p90/max): centrala "
            f"{s['centrala_ms']['median']}/{s['centrala_ms']['p90']}/{s['centrala_ms']['max']}"
            f"  AMD() {s['app_amd_ms']['median']}/{s['app_amd_ms']['p90']}/{s['app_amd_ms']['max']}"
        )
        print(
            f"{'':8} answer→first frame ms (median/max): {s['setup_ms']['median']}/"
            f"{s['setup_ms']['max']}  detector CPU/call: {s['detector_cpu_ms_mean']} ms"
            f"  timed out: {s['timed_out']}"
        )
    print(
        f"wall {summary['run']['wall_s']} s, bench process CPU {summary['run']['bench_process_cpu_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
