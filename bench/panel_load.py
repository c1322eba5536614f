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

Then the agents (``bench/panel_agents.py``): 200 agents logged in through the login form,
each with the agent page's interaction stream open beside the largest number of viewers.
Each change now also changes ONE agent's status as the ACD does (live hash, then the
``agent.status`` event) and times its arrival on that agent's own stream. Printed per
number of agent streams (0 is the baseline of the same run): the agents' p50/p95/max, the
viewers' p95, the panel's SQL statements per second and its CPU, with their ratios.

Not measured here: Asterisk (no calls are placed: the rows are what the ACD writes).

    PYTHONPATH=. .venv/bin/python bench/panel_load.py [--viewers 1,50,500] [--changes 8]
        [--agent-streams 0,200] [--agent-polls]
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

from benchkit import sse_events  # noqa: E402
from panel_agents import AgentStream, change_agent, cpu_seconds, login, poll_me  # noqa: E402
from wallboard_floor import PASSWORD, Floor, start_floor  # noqa: E402

from controlplane.bus import EVENTS_MAXLEN, EVENTS_STREAM, event_fields  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from controlplane.models.acd import QueueLog  # noqa: E402


class Viewer:
    """One screen: the answered totals it has seen, with when it saw each first."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.error: str | None = None
        self.ready = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        try:
            await self._read(session, url, token)
        except (aiohttp.ClientError, OSError, ValueError) as err:
            self.error = f"{type(err).__name__}: {err}"
            self.ready.set()  # failed: nothing more to wait for

    async def _read(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with session.get(url, headers=headers) as resp:
            resp.raise_for_status()
            async for name, data in sse_events(resp):
                if name != "board" or not data:
                    continue
                answered = json.loads(data)["totals"]["answered"]
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


RAMP = 50


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def round_of(floor: Floor, factory, viewers: int, changes: int, base_n: int,  # type: ignore[no-untyped-def]
                   announce: bool = True, agents: list[AgentStream] | None = None,
                   polls: bool = False) -> dict[str, float]:
    """``viewers`` screens and the ``agents``' streams open at once; ``changes`` changes,
    one every 2 s: an answered call (timed on every screen) and one agent's status (timed on
    that agent's stream; agents without a stream are changed all the same)."""
    agents = agents or []
    url = floor.base + "/api/v1/wallboard/stream"
    conn = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        screens = [Viewer() for _ in range(viewers)]
        for a in agents:
            a.seen.clear()
            a.ready.clear()
        tasks: list[asyncio.Task[None]] = []
        try:
            # opened RAMP at a time (all of them stay open): 700 connects at once overflow
            # the listen backlog of a busy machine, and SYN retries then take minutes
            opening: list[Viewer | AgentStream] = [*screens, *agents]
            for i in range(0, len(opening), RAMP):
                batch = opening[i:i + RAMP]
                tasks += [asyncio.create_task(
                    o.run(session, url, floor.token) if isinstance(o, Viewer)
                    else o.run(floor.base)) for o in batch]
                await asyncio.wait_for(asyncio.gather(*(o.ready.wait() for o in batch)), 120)
            if polls:
                tasks += [asyncio.create_task(poll_me(a.session, floor.base)) for a in agents]
            failed = [o.error for o in opening if o.error]
            if failed:
                print(f"  {len(failed)} streams failed, e.g. {failed[0]}", file=sys.stderr)
            screens = [v for v in screens if not v.error]
            start_answered = max(max(v.seen) for v in screens)
            latencies: list[float] = []
            agent_lat: list[float] = []
            pid = floor.procs[-1].pid
            q0, t0, c0 = queries(floor), time.monotonic(), cpu_seconds(pid)
            for k in range(changes):
                await asyncio.to_thread(answer_one, factory, floor, base_n + k, announce)
                committed = time.monotonic()
                who = agents[(k * 37) % len(agents)] if agents else None
                aid = who.agent_id if who else floor.agent_ids[(base_n + k * 37) % len(floor.agent_ids)]
                changed_at = time.monotonic()
                status = await asyncio.to_thread(change_agent, floor.redis, floor.tenant_id, aid)
                target = start_answered + k + 1
                deadline = committed + 15

                while time.monotonic() < deadline and (  # noqa: ASYNC110
                        any(target not in v.seen for v in screens)
                        or (who is not None and who.first_seen(status, changed_at) is None)):
                    await asyncio.sleep(0.02)
                latencies += [v.seen[target] - committed for v in screens if target in v.seen]
                missing = sum(1 for v in screens if target not in v.seen)
                if missing:
                    print(f"  {missing} viewers never saw change {k}", file=sys.stderr)
                if who is not None:
                    seen = who.first_seen(status, changed_at)
                    if seen is None:
                        print(f"  agent {aid} never saw its change {k}", file=sys.stderr)
                    else:
                        agent_lat.append(seen - changed_at)
                await asyncio.sleep(max(0.0, committed + 2.0 - time.monotonic()))
            await asyncio.sleep(0.5)  # let the counter file catch up
            q1, t1, c1 = queries(floor), time.monotonic(), cpu_seconds(pid)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return {"viewers": viewers, "agents": len(agents), "p50_s": statistics.median(latencies),
            "p95_s": pct(latencies, 0.95), "max_s": max(latencies),
            "queries_per_s": (q1[0] - q0[0]) / (t1 - t0),
            "board_queries_per_s": (q1[0] - q1[1] - q0[0] + q0[1]) / (t1 - t0),
            "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "samples": len(latencies),
            "agent_p50_s": statistics.median(agent_lat) if agent_lat else float("nan"),
            "agent_p95_s": pct(agent_lat, 0.95),
            "agent_max_s": max(agent_lat) if agent_lat else float("nan"),
            "agent_samples": len(agent_lat)}


async def log_in(floor: Floor, count: int) -> list[AgentStream]:
    """The first ``count`` agents logged in, a few at a time (each login hashes a password)."""
    gate = asyncio.Semaphore(4)

    async def one(i: int) -> AgentStream:
        async with gate:
            return AgentStream(await login(floor.base, f"a{i:03d}", PASSWORD), floor.agent_ids[i])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def run(floor: Floor, args: argparse.Namespace) -> tuple[list[dict[str, float]],
                                                              list[dict[str, float]]]:
    factory = make_sessionmaker(make_engine(floor.db_url))
    viewer_counts = [int(x) for x in args.viewers.split(",")]
    streams = [int(x) for x in args.agent_streams.split(",") if x]
    rows, agent_rows = [], []
    for i, n in enumerate(viewer_counts):
        rows.append(await round_of(floor, factory, n, args.changes, 1000 * i,
                                   announce=not args.no_events))
        print(f"{n} viewers done: {rows[-1]}", file=sys.stderr, flush=True)
    if not streams:
        return rows, agent_rows
    logged = await log_in(floor, max(streams))
    print(f"{len(logged)} agents logged in", file=sys.stderr, flush=True)
    try:
        for j, a in enumerate(streams):
            agent_rows.append(await round_of(
                floor, factory, max(viewer_counts), args.changes, 1000 * (len(rows) + j),
                announce=not args.no_events, agents=logged[:a], polls=args.agent_polls))
            print(f"{a} agent streams done: {agent_rows[-1]}", file=sys.stderr, flush=True)
    finally:
        await asyncio.gather(*(a.session.close() for a in logged))
    return rows, agent_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", default="1,50,500")
    parser.add_argument("--changes", type=int, default=8)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=150)
    parser.add_argument("--agent-streams", default="0,200",
                        help="agents' interaction streams beside the most viewers ('' for none)")
    parser.add_argument("--agent-polls", action="store_true",
                        help="each agent also polls /api/v1/agents/me every 2 s, as the agent "
                             "page did before \"my status\" took the card stream's row (and "
                             "still does while that stream is down)")
    parser.add_argument("--no-events", action="store_true",
                        help="write the rows without the daemon's event: the timed refresh only")
    args = parser.parse_args()
    floor = start_floor(agents=args.agents, waiting=args.waiting)
    try:
        rows, agent_rows = asyncio.run(run(floor, args))
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
    if not agent_rows:
        return
    ab = agent_rows[0]
    print(f"\n{'agents':>7} {'agent p50':>10} {'agent p95':>10} {'agent max':>10} "
          f"{'viewer p95':>11} {'queries/s':>10} {'CPU %':>6} {'viewer p95 ×':>13} "
          f"{'q/s ×':>6} {'CPU ×':>6}   (with {ab['viewers']} viewers)")
    for r in agent_rows:
        print(f"{r['agents']:>7} {r['agent_p50_s']:>10.3f} {r['agent_p95_s']:>10.3f} "
              f"{r['agent_max_s']:>10.3f} {r['p95_s']:>11.3f} {r['queries_per_s']:>10.1f} "
              f"{r['cpu_pct']:>6.0f} {r['p95_s'] / ab['p95_s']:>13.2f} "
              f"{r['queries_per_s'] / max(ab['queries_per_s'], 1e-9):>6.2f} "
              f"{r['cpu_pct'] / max(ab['cpu_pct'], 1e-9):>6.2f}")


if __name__ == "__main__":
    main()
