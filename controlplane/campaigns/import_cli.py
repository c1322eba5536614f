"""``centrala campaign import`` and ``import-status``: contact imports from the command line.

::

    centrala campaign import "Spring offer" contacts.csv --tenant demo.centrala.local
        [--sync | --detach]
    centrala campaign import-status 12 --tenant demo.centrala.local

``import`` stores the file as an import and queues its job on the worker, then follows its
progress (on stderr) until it ends; ``--sync`` runs the same batched code in this process
instead, ``--detach`` only queues it. At the end it prints every rejected row (line,
column, reason) and a summary on stdout. Exit codes: 0 all rows imported, 1 rows rejected
or the import failed, 3 still queued or running (no worker picked it up in time; follow
it with ``import-status``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from controlplane.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from controlplane.campaigns.import_runs import Progress

STILL_RUNNING = 3
WAIT_FOR_WORKER_S = 60.0  # queued this long without a start: say so and stop following
POLL_S = 0.5


def register(commands: Any) -> None:
    """Add ``import`` and ``import-status`` to the ``campaign`` sub-commands."""
    imp = commands.add_parser("import", help="import contacts from a CSV file")
    imp.add_argument("campaign", metavar="CAMPAIGN")
    imp.add_argument("file", metavar="FILE.csv", type=Path)
    imp.add_argument("--tenant", required=True, metavar="DOMAIN")
    how = imp.add_mutually_exclusive_group()
    how.add_argument("--sync", action="store_true", help="run here instead of on the worker")
    how.add_argument("--detach", action="store_true", help="queue it and return at once")
    imp.set_defaults(func=run_import)

    status = commands.add_parser("import-status", help="progress and rejected rows of an import")
    status.add_argument("import_id", metavar="ID", type=int)
    status.add_argument("--tenant", required=True, metavar="DOMAIN")
    status.set_defaults(func=run_status)


def run_import(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Import FILE into CAMPAIGN (see the module docstring for the exit codes)."""
    from controlplane.campaigns import csv_rows, import_runs, store
    from controlplane.campaigns.cli import _database
    from controlplane.campaigns.exceptions import CampaignError
    from controlplane.db import transaction

    out = out or sys.stdout
    path: Path = args.file
    try:
        csv_rows.check_size(path.stat().st_size)
        data = path.read_bytes()
        csv_rows.decode(data)  # refuse a file that is not UTF-8 here, not in the worker
    except csv_rows.FileRejected as err:
        print(f"{path}: {err} (nothing was imported)", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{path}: cannot read the file: {err} (a UTF-8 CSV is expected)", file=sys.stderr)
        return 1
    with _database(settings) as factory:
        try:
            with transaction(factory) as s:
                tenant = store.tenant_id(s, args.tenant)
                campaign = store.get_campaign(s, tenant, args.campaign)
                started = import_runs.create(s, tenant, campaign.id, path.name, data)
        except CampaignError as err:
            print(f"campaign import: {err} (nothing was imported)", file=sys.stderr)
            return 1
        del data

        def show(p: Progress) -> None:
            print(f"{args.campaign}: {p}", file=sys.stderr, flush=True)

        if args.sync:
            final = import_runs.run(factory, started.id, on_batch=show)
        else:
            from controlplane.jobs import imports
            from controlplane.jobs.worker import queue

            queued = imports.enqueue(factory, queue(settings), started.id)
            where = "queued on the worker" if queued.queued else (
                f"kept until Redis ({settings.redis_location}) is back"
            )
            print(f"{args.campaign}: import #{started.id} {where}", file=sys.stderr)
            if args.detach:
                print(f"import #{started.id}: follow it with `centrala campaign import-status "
                      f"{started.id} --tenant {args.tenant}`", file=out)
                return 0
            final = _follow(factory, tenant, started.id, show)
        return _report(factory, tenant, final, args, out)


def _follow(
    factory: sessionmaker[Session], tenant: int, import_id: int, show: Any
) -> Progress:
    from controlplane.campaigns import import_runs

    seen = None
    since = time.monotonic()
    while True:
        with factory() as s:
            now = import_runs.progress(s, tenant, import_id)
        if (now.state, now.rows_read) != seen:
            seen = (now.state, now.rows_read)
            show(now)
        if now.finished:
            return now
        if now.state == "queued" and time.monotonic() - since > WAIT_FOR_WORKER_S:
            return now
        time.sleep(POLL_S)


def _report(
    factory: sessionmaker[Session], tenant: int, final: Progress, args: argparse.Namespace,
    out: TextIO,
) -> int:
    from controlplane.campaigns import import_runs

    if not final.finished:
        print(f"import #{final.id} is still {final.state} (is `centrala worker` running?); "
              f"follow it with `centrala campaign import-status {final.id} --tenant "
              f"{args.tenant}`", file=sys.stderr)
        return STILL_RUNNING
    with factory() as s:
        rejected = import_runs.rejected_rows(s, tenant, final.id)
    source = getattr(args, "file", None) or final.filename
    for error in rejected:
        print(f"{source}: {error}", file=out)
    if final.state == "failed":
        print(f"campaign import: import #{final.id} failed: {final.error} (the rows before "
              f"line {_failed_at(factory, final.id)} stay imported)", file=sys.stderr)
    name = getattr(args, "campaign", None) or f"import #{final.id}"
    print(f"{name}: {final.imported} imported, {final.updated} updated, "
          f"{final.rejected} rejected", file=out)
    return 1 if final.rejected or final.state == "failed" else 0


def _failed_at(factory: sessionmaker[Session], import_id: int) -> int:
    from controlplane.models.imports import ContactImport

    with factory() as s:
        row = s.get(ContactImport, import_id)
        return max(row.next_line, 2) if row else 2


def run_status(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Print an import's progress; at its end, its rejected rows and summary too."""
    from controlplane.campaigns import import_runs, store
    from controlplane.campaigns.cli import _database
    from controlplane.campaigns.exceptions import CampaignError

    out = out or sys.stdout
    with _database(settings) as factory:
        try:
            with factory() as s:
                tenant = store.tenant_id(s, args.tenant)
                now = import_runs.progress(s, tenant, args.import_id)
        except CampaignError as err:
            print(f"campaign import-status: {err}", file=sys.stderr)
            return 1
        print(str(now), file=sys.stderr)
        if not now.finished:
            return STILL_RUNNING
        return _report(factory, tenant, now, args, out)
