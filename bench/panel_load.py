"""Wallboard load: N screens on ``/api/v1/wallboard/stream`` against a real panel process.

What it does: starts a seeded floor (``bench/wallboard_floor.py``: Redis, SQLite with the
day's logs, 200 agents, 150 callers waiting, a campaign, and the panel as ``python -m web``
serves it, counting its SQL statements), then for 1, 50 and 500 viewers (aiohttp clients,
one API token) appends an answered call to the queue log every ~2 s and measures, per
viewer, the time from the row's commit to the first board showing it (the update latency),
and the panel's SQL statements per second over the same window. Each change is announced on
the daemon's events stream after its rows, as the ACD does (``--no-events``: rows only, the
wallboard's timed refresh alone). Printed: p50/p95/max
latency and queries/s per viewer count, and their ratios against the 1-viewer baseline of
the same run. The goal: p95 under 1 s, queries/s flat.

Not measured here: the agents' own SSE connections (the agent desktop's stream is another
part of the issue) and Asterisk (no calls are placed: the rows are what the ACD writes).

    PYTHONPATH=. .venv/bin/python bench/panel_load.py [--viewers 1,50,500] [--changes 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))

from wallboard_floor import Floor, start_floor  # noqa: E402

from controlplane.bus import EVENTS_MAXLEN, EVENTS_STREAM, event_fields  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from controlplane.models.acd import QueueLog  # noqa: E402


class Viewer:
    """One screen: the answered totals it has seen, with when it saw each first."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.ready = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with session.get(url, headers=headers) as resp:
            resp.raise_for_status()
            buf = ""
            async for chunk in resp.content.iter_any():
                buf += chunk.decode()
                while "\n\n" in buf:
                    block, buf = buf.split("\n\n", 1)
                    data = [ln[6:] for ln in block.splitlines() if ln.startswith("data: ")]
                    if "event: board" not in block or not data:
                        continue
                    answered = json.loads(data[0])["totals"]["answered"]
                    self.seen.setdefault(answered, time.monotonic())
                    self.ready.set()


def queries(floor: Floor) -> tuple[int, int]:
    """The panel's SQL statements so far: (all, credential re-checks)."""
    try:
        total, auth = floor.queries_file.read_text().split()
        return int(total), int(auth)
    except (OSError, ValueError):
        return 0, 0


def answer_one(factory, floor: Floor, n: int, announce: bool) -> None:  # type: ignore[no-untyped-def]
    """What the ACD does when an agent answers: the queue-log rows, then (``announce``) the
    event on the daemon's stream, which the panel's wallboard wakes on."""
    now = datetime.now(UTC)
    with transaction(factory) as s:
        for kind in ("enter", "answer"):
            s.add(QueueLog(tenant_id=floor.tenant_id, queue_id=floor.queue_ids[0],
                           interaction_id=f"load-{n}", kind=kind, at=now,
                           user_id=floor.agent_ids[0] if kind == "answer" else None))
    if announce:
        floor.redis.xadd(EVENTS_STREAM, event_fields("queue.answered", tenant_id=floor.tenant_id,
                                                     call_id=f"load-{n}"),
                         maxlen=EVENTS_MAXLEN, approximate=True)


async def round_of(floor: Floor, factory, viewers: int, changes: int, base_n: int,  # type: ignore[no-untyped-def]
                   announce: bool = True) -> dict[str, float]:
    url = floor.base + "/api/v1/wallboard/stream"
    conn = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        screens = [Viewer() for _ in range(viewers)]
        tasks = [asyncio.create_task(v.run(session, url, floor.token)) for v in screens]
        try:
            await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in screens)), 120)
            start_answered = max(max(v.seen) for v in screens)
            latencies: list[float] = []
            q0, t0 = queries(floor), time.monotonic()
            for k in range(changes):
                await asyncio.to_thread(answer_one, factory, floor, base_n + k, announce)
                committed = time.monotonic()
                target = start_answered + k + 1
                deadline = committed + 15
                while time.monotonic() < deadline and any(target not in v.seen for v in screens):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                latencies += [v.seen[target] - committed for v in screens if target in v.seen]
                missing = sum(1 for v in screens if target not in v.seen)
                if missing:
                    print(f"  {missing} viewers never saw change {k}", file=sys.stderr)
                await asyncio.sleep(max(0.0, committed + 2.0 - time.monotonic()))
            await asyncio.sleep(0.5)  # let the counter file catch up
            q1, t1 = queries(floor), time.monotonic()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return {"viewers": viewers, "p50_s": statistics.median(latencies), "p95_s": p95,
            "max_s": latencies[-1], "queries_per_s": (q1[0] - q0[0]) / (t1 - t0),
            "board_queries_per_s": (q1[0] - q1[1] - q0[0] + q0[1]) / (t1 - t0),
            "samples": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", default="1,50,500")
    parser.add_argument("--changes", type=int, default=8)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=150)
    parser.add_argument("--no-events", action="store_true",
                        help="write the rows without the daemon's event: the timed refresh only")
    args = parser.parse_args()
    floor = start_floor(agents=args.agents, waiting=args.waiting)
    factory = make_sessionmaker(make_engine(floor.db_url))
    try:
        rows = []
        for i, n in enumerate(int(x) for x in args.viewers.split(",")):
            rows.append(asyncio.run(round_of(floor, factory, n, args.changes, 1000 * i,
                                             announce=not args.no_events)))
            print(f"{n} viewers done", file=sys.stderr, flush=True)
    finally:
        floor.stop()
    base = rows[0]
    # queries/s: every SQL statement of the panel; board q/s: without the credential
    # re-checks of each open stream (one per viewer per WALLBOARD_RECHECK_S).
    print(f"{'viewers':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'queries/s':>10} "
          f"{'board q/s':>10} {'p95 ×':>6} {'q/s ×':>6} {'board ×':>8}")
    for r in rows:
        print(f"{r['viewers']:>8} {r['p50_s']:>7.3f} {r['p95_s']:>7.3f} {r['max_s']:>7.3f} "
              f"{r['queries_per_s']:>10.1f} {r['board_queries_per_s']:>10.1f} "
              f"{r['p95_s'] / base['p95_s']:>6.2f} "
              f"{r['queries_per_s'] / max(base['queries_per_s'], 1e-9):>6.2f} "
              f"{r['board_queries_per_s'] / max(base['board_queries_per_s'], 1e-9):>8.2f}")


if __name__ == "__main__":
    main()
