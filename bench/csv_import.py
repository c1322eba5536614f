"""A 100k-row contact import on SQLite while the panel keeps writing.

Generates N valid rows (plus about 1 % bad ones: invalid numbers, duplicates, bad
priorities), then runs the import job's code (``controlplane.campaigns.import_runs.run``,
what the RQ worker runs) in this process, one transaction per batch. Meanwhile a second
*process*, as the panel is, saves a disposition through the admin form's code
(``controlplane.campaigns.dispositions.save_disposition``) every 50 ms with the panel's
engine (busy timeout 5 s), timing each write and counting the ones that fail.

Then the same import again on a fresh database in the old shape: the same code and
batches, all inside one transaction (``csv_import.import_csv`` in the caller's
transaction, as ``centrala campaign import`` did), with the same writer beside it, and the
ratios of the two. Prints figures only; nothing is asserted.

Usage: python bench/csv_import.py [--rows 100000] [--batch-rows 2000]
                                   [--baseline-rows N (0: skip)] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import BenchError, log, pct  # noqa: E402

from controlplane.campaigns import csv_import, dispositions, import_runs, store  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from controlplane.migrate import upgrade  # noqa: E402
from controlplane.models import Campaign, Tenant  # noqa: E402

WRITE_EVERY_S = 0.05


def make_csv(rows: int, seed: int = 1) -> tuple[bytes, int]:
    """``rows`` valid rows and about 1 % bad ones; the CSV and the number of bad rows."""
    rng = random.Random(seed)
    numbers: set[str] = set()
    lines = ["phone,first_name,last_name,email,timezone,priority,segment"]
    bad = 0
    while len(numbers) < rows:
        number = f"6{rng.randint(0, 99_999_999):08d}"
        if number in numbers:
            continue
        numbers.add(number)
        n = len(numbers)
        lines.append(f"{number},Anna{n},Nowak,anna{n}@example.pl,Europe/Warsaw,{n % 101},s{n % 7}")
        if n % 100 == 0:  # a bad row after every hundred good ones
            bad += 1
            lines.append(rng.choice([
                f"12{n % 1000},Bad,Number,,,,",  # too short
                f"{number},Again,Duplicate,,,,",  # the number of the row above
                f"7{n:08d},Pri,Ority,,,high,",  # a bad priority
            ]))
    return ("\n".join(lines) + "\n").encode(), bad


def database(path: Path) -> tuple[str, int, int]:
    """A migrated SQLite file with a tenant, a campaign and one disposition to edit."""
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = Tenant(domain="bench.example", name="Bench")
        s.add(tenant)
        s.flush()
        campaign = store.create_campaign(s, tenant.id, "bench")
        dispositions.save_disposition(s, tenant.id, campaign.id, {"code": "ok", "label": "OK"})
        tenant_id, campaign_id = tenant.id, campaign.id
    engine.dispose()
    return url, tenant_id, campaign_id


def panel_writer(url: str, tenant: int, campaign: int, ready: Any, stop: Any, out: Any) -> None:
    """Another process: the admin's disposition form, every ``WRITE_EVERY_S``."""
    engine = make_engine(url)  # the panel's engine: busy timeout included
    factory = make_sessionmaker(engine)
    with factory() as s:
        code = dispositions.list_dispositions(s, tenant, campaign)[0].id
    ready.set()
    times: list[float] = []
    errors: dict[str, int] = {}
    n = 0
    while not stop.is_set():
        n += 1
        start = time.perf_counter()
        try:
            with transaction(factory) as s:
                dispositions.save_disposition(s, tenant, campaign, {"label": f"OK {n}"}, code)
            times.append((time.perf_counter() - start) * 1000)
        except Exception as err:  # noqa: BLE001 - counted: what a panel user would see as 500
            errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
        time.sleep(max(0.0, WRITE_EVERY_S - (time.perf_counter() - start)))
    engine.dispose()
    out.send({"ms": times, "errors": errors})


def run(data: bytes, batch_rows: int, folder: Path, label: str) -> dict[str, Any]:
    url, tenant, campaign = database(folder / f"{label}.db")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        import_id = import_runs.create(s, tenant, campaign, "bench.csv", data).id
    ctx = mp.get_context("spawn")
    ready, stop, (receive, send) = ctx.Event(), ctx.Event(), ctx.Pipe(duplex=False)
    writer = ctx.Process(target=panel_writer, args=(url, tenant, campaign, ready, stop, send))
    writer.start()
    if not ready.wait(120):  # spawn imports the project: slow on a busy machine
        writer.kill()
        raise BenchError("the panel writer process did not start within 120 s")
    log(f"{label}: importing {len(data) / 1e6:.1f} MB in batches of {batch_rows} rows")
    start, cpu = time.perf_counter(), time.process_time()
    if label == "batched":
        done = import_runs.run(factory, import_id, batch_rows=batch_rows)
    else:  # the old shape: one transaction from the first row to the last
        with transaction(factory) as s:
            campaign_row = s.get(Campaign, campaign)
            assert campaign_row is not None
            report = csv_import.import_csv(s, campaign_row, csv_import.decode(data),
                                           batch_rows=batch_rows)
        with factory() as s:
            queued = import_runs.progress(s, None, import_id)  # (the import row is unused)
        done = replace(queued, state="done", imported=report.imported,
                       rows_read=report.imported + report.updated + len(report.rejected),
                       rejected=len(report.rejected))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    stop.set()
    panel = receive.recv()
    writer.join()
    engine.dispose()
    ms = panel["ms"]
    return {
        "shape": label,
        "batch_rows": batch_rows,
        "state": done.state,
        "rows_read": done.rows_read,
        "imported": done.imported,
        "rejected": done.rejected,
        "seconds": round(seconds, 2),
        "import_cpu_s": round(cpu, 2),
        "rows_per_s": round(done.rows_read / seconds),
        "panel_writes": len(ms) + sum(panel["errors"].values()),
        "panel_p50_ms": round(pct(ms, 0.5) or 0, 1),
        "panel_p99_ms": round(pct(ms, 0.99) or 0, 1),
        "panel_max_ms": round(max(ms, default=0), 1),
        "panel_errors": panel["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=import_runs.csv_import.BATCH_ROWS)
    parser.add_argument("--baseline-rows", type=int, default=None,
                        help="rows of the one-transaction run (default: --rows; 0: skip it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data, bad = make_csv(args.rows)
    log(f"{args.rows} valid rows + {bad} bad ones, {len(data) / 1e6:.1f} MB")
    results = []
    with tempfile.TemporaryDirectory(prefix="centrala-bench-import-") as tmp:
        folder = Path(tmp)
        results.append(run(data, args.batch_rows, folder, "batched"))
        baseline_rows = args.rows if args.baseline_rows is None else args.baseline_rows
        if baseline_rows:
            base, _ = make_csv(baseline_rows) if baseline_rows != args.rows else (data, bad)
            results.append(run(base, args.batch_rows, folder, "one_transaction"))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    keys = ["seconds", "rows_per_s", "import_cpu_s", "imported", "rejected", "panel_writes",
            "panel_p50_ms", "panel_p99_ms", "panel_max_ms", "panel_errors"]
    print(f"{'':16}" + "".join(f"{r['shape']:>22}" for r in results))
    for key in keys:
        print(f"{key:16}" + "".join(f"{str(r[key]):>22}" for r in results))
    if len(results) == 2:
        new, old = results
        print(f"\nbatched vs one transaction: rows/s x{new['rows_per_s'] / old['rows_per_s']:.2f}, "
              f"panel p99 {new['panel_p99_ms']} ms vs {old['panel_p99_ms']} ms, panel errors "
              f"{sum(new['panel_errors'].values())} vs {sum(old['panel_errors'].values())}")


if __name__ == "__main__":
    main()
