"""Routing decision latency of the pure ACD router (``controlplane.acd.router.route``).

A seeded random floor: 500 waiting interactions and 200 agents in 5 queues
(one per strategy, agents in one or two queues, 4 random skills each with
levels 1–10; interactions require 0–2 skills and have base priorities with
per-queue aging). Each decision is one ``route()`` pass over the whole
snapshot, timed alone (building the snapshot is not timed). Scenarios:

- ``one_free``: one random agent is free (the usual event: an agent became ready);
- ``ten_free``: ten random agents are free at once;
- ``all_free``: every agent is free (a shift starts with a full queue).

Usage: python bench/acd_routing.py [--decisions 500] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controlplane.acd.router import RouterState, Snapshot, route  # noqa: E402
from controlplane.acd.testing import random_floor  # noqa: E402

AGENTS, WAITING, QUEUES = 200, 500, 5


def with_free(snap: Snapshot, free_ids: set[str]) -> Snapshot:
    agents = {
        aid: (a if aid in free_ids else replace(a, free=frozenset()))
        for aid, a in snap.agents.items()
    }
    return replace(snap, agents=agents)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def scenario(base: Snapshot, n_free: int, decisions: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    ids = sorted(base.agents)
    snaps = [with_free(base, set(rng.sample(ids, n_free))) for _ in range(min(decisions, 50))]
    state = RouterState()
    times: list[float] = []
    offers = 0
    for n in range(decisions):
        snap = snaps[n % len(snaps)]
        t0 = time.perf_counter_ns()
        state, out = route(state, snap, 1000.0 + n, rng)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        offers += len(out)
    return {
        "decisions": decisions,
        "p50_ms": round(pct(times, 50), 3),
        "p99_ms": round(pct(times, 99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "offers_per_decision": round(offers / decisions, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    base = random_floor(args.seed, AGENTS, WAITING, QUEUES)
    results = {
        "one_free": scenario(base, 1, args.decisions, args.seed),
        "ten_free": scenario(base, 10, args.decisions, args.seed),
        "all_free": scenario(base, AGENTS, max(args.decisions // 5, 20), args.seed),
    }
    report = {
        "bench": "acd_routing",
        "agents": AGENTS,
        "waiting": WAITING,
        "queues": QUEUES,
        "seed": args.seed,
        "python": sys.version.split()[0],
        "scenarios": results,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"ACD routing: {WAITING} waiting, {AGENTS} agents, {QUEUES} queues, seed {args.seed}")
    print(
        f"{'scenario':<10} {'decisions':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'offers':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<10} {r['decisions']:>9} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} "
            f"{r['mean_ms']:>8.3f} {r['offers_per_decision']:>7.1f}"
        )


if __name__ == "__main__":
    main()
