"""``centrala campaign``: create, list, import contacts into and HLR-check outbound campaigns.

::

    centrala campaign create "Spring offer" --tenant demo.centrala.local --mode predictive \\
        --queue sales --region PL
    centrala campaign import "Spring offer" contacts.csv --tenant demo.centrala.local \\
        [--sync | --detach]
    centrala campaign import-status 12 --tenant demo.centrala.local
    centrala campaign list --tenant demo.centrala.local
    centrala campaign hlr "Spring offer" --tenant demo.centrala.local [--sync]

``import`` (:mod:`controlplane.campaigns.import_cli`) runs as a job on the worker, one
transaction per batch of rows, and prints every rejected row (line, column, reason) and a
summary; it exits 1 when any row was rejected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from controlplane.campaigns import import_cli
from controlplane.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# Imports of the database layer wait for a handler, so building the ``centrala`` parser
# stays cheap; tests check this copy against ``controlplane.models.campaigns.MODES``.
MODES = ("preview", "progressive", "predictive")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``campaign`` and its sub-commands; handlers take ``(args, settings)``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "campaign", help="outbound campaigns: create, import contacts, list, HLR check"
    )
    commands = parser.add_subparsers(dest="campaign_command", required=True)

    create = commands.add_parser("create", help="create a draft campaign")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--tenant", required=True, metavar="DOMAIN", help="the tenant's domain")
    create.add_argument("--mode", choices=MODES, default="progressive")
    create.add_argument("--queue", metavar="Q", help="the queue whose agents work it")
    create.add_argument(
        "--region", default="PL", help="region national numbers are read in (ISO code, default PL)"
    )
    create.set_defaults(func=run_create)

    import_cli.register(commands)

    lst = commands.add_parser("list", help="list the tenant's campaigns")
    lst.add_argument("--tenant", required=True, metavar="DOMAIN")
    lst.set_defaults(func=run_list)

    hlr = commands.add_parser("hlr", help="HLR-check the campaign's mobile numbers")
    hlr.add_argument("campaign", metavar="CAMPAIGN")
    hlr.add_argument("--tenant", required=True, metavar="DOMAIN")
    hlr.add_argument("--sync", action="store_true", help="run now instead of queueing a job")
    hlr.add_argument(
        "--skip-uncertain",
        action="store_true",
        help="close records whose answer is unknown or an error too (default: dial them)",
    )
    hlr.set_defaults(func=run_hlr)
    return parser


@contextmanager
def _database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    from controlplane.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def run_create(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Create the campaign; exit 1 with the reason when it cannot be."""
    from controlplane.campaigns import store
    from controlplane.campaigns.exceptions import CampaignError
    from controlplane.db import transaction

    out = out or sys.stdout
    try:
        with _database(settings) as factory, transaction(factory) as s:
            row = store.create_campaign(
                s,
                store.tenant_id(s, args.tenant),
                args.name,
                mode=args.mode,
                queue=args.queue,
                region=args.region,
            )
            line = (
                f"campaign {row.name!r} created (#{row.id}, {row.mode}, {row.status}, "
                f"region {row.default_region})"
            )
    except CampaignError as err:
        print(f"campaign create: {err} (nothing was changed)", file=sys.stderr)
        return 1
    print(line, file=out)
    return 0


def run_list(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Print the tenant's campaigns with their record counts."""
    from sqlalchemy import func, select

    from controlplane.campaigns import store
    from controlplane.campaigns.exceptions import CampaignError
    from controlplane.models.campaigns import Campaign, CampaignRecord

    out = out or sys.stdout
    try:
        with _database(settings) as factory, factory() as s:
            tenant = store.tenant_id(s, args.tenant)
            counts: dict[int, int] = {
                campaign_id: count
                for campaign_id, count in s.execute(
                    select(CampaignRecord.campaign_id, func.count())
                    .join(Campaign, Campaign.id == CampaignRecord.campaign_id)
                    .where(Campaign.tenant_id == tenant)
                    .group_by(CampaignRecord.campaign_id)
                )
            }
            rows = [
                (c.name, c.kind, c.mode, c.status, counts.get(c.id, 0))
                for c in store.list_campaigns(s, tenant)
            ]
    except CampaignError as err:
        print(f"campaign list: {err}", file=sys.stderr)
        return 1
    print(f"{'name':30}  {'kind':8}  {'mode':11}  {'status':8}  records", file=out)
    for name, kind, mode, status, count in rows:
        print(f"{name:30}  {kind:8}  {mode:11}  {status:8}  {count}", file=out)
    return 0


def run_hlr(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Queue the HLR check of CAMPAIGN on the worker (or run it now with ``--sync``)."""
    from controlplane.campaigns import hlr, store
    from controlplane.campaigns.exceptions import CampaignError

    out = out or sys.stdout
    try:
        hlr.provider_from_settings(settings)  # fail here, not later in the worker
        with _database(settings) as factory, factory() as s:
            campaign_id = store.get_campaign(s, store.tenant_id(s, args.tenant), args.campaign).id
        if args.sync:
            from controlplane.jobs.hlr import run_campaign

            counts = run_campaign(settings, campaign_id, skip_uncertain=args.skip_uncertain)
    except CampaignError as err:
        print(f"campaign hlr: {err}", file=sys.stderr)
        return 1
    if args.sync:
        print(f"{args.campaign}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=out)
        return 0
    from controlplane.jobs import outbox
    from controlplane.jobs.hlr import check_campaign
    from controlplane.jobs.worker import queue

    # Redis unreachable: the job waits in the outbox and the control plane queues it later.
    with _database(settings) as factory:
        job = outbox.enqueue(queue(settings), factory, check_campaign, campaign_id,
                             skip_uncertain=args.skip_uncertain, options={"job_timeout": 3600})
    if job.queued:
        print(f"{args.campaign}: HLR check queued as job {job.job_id} (the worker runs it)",
              file=out)
    else:
        print(f"{args.campaign}: Redis is unreachable ({settings.redis_location}); HLR check "
              f"kept as job {job.job_id}: the control plane queues it when Redis is back",
              file=out)
    return 0
