"""Run the control plane daemon with counters: SQL statements, commits, Redis round trips,
JSON encodes/decodes, asyncio tasks, log records, ARI requests by kind, garbage
collections and their pauses per generation.

Used by ``bench/ivr_capacity.py --count`` (and by hand for other benches) in place of
``python -m controlplane.cli controlplane``::

    python bench/cp_counters.py OUT.json controlplane

It installs the hooks before any product module is imported (so a ``from json import
dumps`` in the product binds the counting one), then runs ``controlplane.cli`` as
``__main__`` with the remaining arguments. A daemon thread rewrites ``OUT.json`` every
0.5 s with the running totals; a bench reads it before and after a stretch of traffic and
divides the difference by the calls. The hooks cost CPU themselves: a run with counters
is for counting, not for the CPU figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COUNTS: Counter[str] = Counter()
# Counter += is not atomic across threads, but the product's work is on the event loop and
# the few worker threads (to_thread) only make the totals a hair low, never wrong in kind.


def _wrap(owner: Any, name: str, key: str) -> None:
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        COUNTS[key] += 1
        return original(*args, **kwargs)

    counted.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, name, counted)


def _sql_statement_kind(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper() if words else "?"
    table = ""
    if verb in ("INSERT", "DELETE") and len(words) > 2:
        table = words[2]
    elif verb == "UPDATE" and len(words) > 1:
        table = words[1]
    elif verb == "SELECT" and "FROM" in (w.upper() for w in words):
        upper = [w.upper() for w in words]
        table = words[upper.index("FROM") + 1]
    return f"sql.{verb} {table}".strip()


def install() -> None:
    """Count at the seams the per-call cost is made of."""
    _wrap(json, "dumps", "json.dumps")
    loads = json.loads

    def counted_loads(*args: Any, **kwargs: Any) -> Any:
        COUNTS["json.loads"] += 1
        doc = loads(*args, **kwargs)
        if isinstance(doc, dict) and isinstance(doc.get("type"), str):
            COUNTS[f"json.loads of type {doc['type']}"] += 1  # ARI events by type
        return doc

    counted_loads.__wrapped__ = loads  # type: ignore[attr-defined]
    json.loads = counted_loads

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def _stmt(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              executemany: bool) -> None:
        COUNTS["sql.statements"] += 1
        COUNTS[_sql_statement_kind(statement)] += 1

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        COUNTS["sql.commits"] += 1

    import redis.asyncio.connection as aconn
    import redis.connection as sconn

    # one send_packed_command = one request on the wire (a pipeline is one)
    for owner in (aconn.AbstractConnection, sconn.AbstractConnection):
        if hasattr(owner, "send_packed_command"):
            _wrap(owner, "send_packed_command", "redis.round_trips")

    original_create_task = asyncio.BaseEventLoop.create_task

    def create_task(self: asyncio.BaseEventLoop, coro: Any, **kwargs: Any) -> Any:
        COUNTS["asyncio.tasks"] += 1
        code = getattr(coro, "cr_code", None)
        if code is not None:
            COUNTS[f"task.{code.co_qualname}"] += 1
        return original_create_task(self, coro, **kwargs)

    asyncio.BaseEventLoop.create_task = create_task  # type: ignore[method-assign]

    original_handle = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        COUNTS["log.records"] += 1
        original_handle(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]

    import gc

    started: dict[int, float] = {}

    def gc_timer(phase: str, info: dict[str, Any]) -> None:
        """Collections per generation and their pauses (the event loop stops meanwhile)."""
        gen = info["generation"]
        if phase == "start":
            started[gen] = time.perf_counter()
            return
        ms = round(1000 * (time.perf_counter() - started.pop(gen, time.perf_counter())))
        COUNTS[f"gc.gen{gen}.collections"] += 1
        COUNTS[f"gc.gen{gen}.pause_ms_total"] += ms
        COUNTS[f"gc.gen{gen}.pause_ms_max"] = max(COUNTS[f"gc.gen{gen}.pause_ms_max"], ms)

    gc.callbacks.append(gc_timer)

    from controlplane.engine.ari_ import AriClient

    original_request = AriClient.request

    async def request(self: AriClient, method: str, path: str, **kwargs: Any) -> Any:
        COUNTS["ari.requests"] += 1
        COUNTS[f"ari.{method} {_ari_template(path)}"] += 1
        return await original_request(self, method, path, **kwargs)

    AriClient.request = request  # type: ignore[method-assign]


def _ari_template(path: str) -> str:
    """``/channels/1700000000.12/answer`` → ``/channels/{id}/answer``: the resource kind
    and operation, without the object's id."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(p if i % 2 == 0 else "{id}" for i, p in enumerate(parts))


def _dump_forever(out: Path) -> None:
    tmp = out.with_suffix(".tmp")
    while True:
        tmp.write_text(json.dumps.__wrapped__(  # type: ignore[attr-defined]
            {"t": time.time(), "pid": os.getpid(), "counts": dict(COUNTS)}))
        os.replace(tmp, out)
        time.sleep(0.5)


def main() -> None:
    out = Path(sys.argv[1])
    install()
    threading.Thread(target=_dump_forever, args=(out,), daemon=True, name="counters").start()
    sys.argv = ["controlplane.cli", *sys.argv[2:]]
    runpy.run_module("controlplane.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
