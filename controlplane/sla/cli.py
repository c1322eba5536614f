"""``centrala sla report``: a tenant's availability, downtime, credit and penalties.

::

    centrala sla report --tenant firma.pl --period 2026-12 [--json]

Reads the database only (no Redis, no Asterisk): the statement is computed from the stored
downtime, maintenance windows, incidents and claim (:mod:`controlplane.sla.service`).
Exit status 2 with a message on stderr for an unknown tenant, a tenant without SLA
settings or a malformed period.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from controlplane.config import Settings
from controlplane.errors import CentralaError


def register(subparsers: Any) -> None:
    """Add ``sla report``; its handler takes ``(args, settings)``."""
    parser = subparsers.add_parser("sla", help="service level: availability, credits, penalties")
    commands = parser.add_subparsers(dest="sla_command", required=True)
    rep = commands.add_parser("report", help="a tenant's statement for one billing period")
    rep.add_argument("--tenant", required=True, metavar="DOMAIN")
    rep.add_argument("--period", required=True, metavar="YYYY-MM")
    rep.add_argument("--json", action="store_true", help="print the statement as JSON")
    rep.set_defaults(func=run_report)
    # the synthetic probes' process (the supervisor runs it: controlplane.procs.programs)
    commands.add_parser("prober", help="run the SLA probes").set_defaults(func=run_prober)


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.2f} h"


def _text(d: dict[str, Any]) -> str:
    lines = [
        f"{d['tenant']} {d['period']} ({d['level']}, {d['time_zone']})",
        f"availability: {d['availability_percent']} % (guaranteed {d['guaranteed_percent']} %)",
        f"service time: {_hours(d['service_seconds'])}, downtime: "
        f"{_hours(d['downtime_seconds'])}, announced maintenance: "
        f"{_hours(d['maintenance_seconds'])}",
    ]
    for name, secs in d["downtime_by_function"].items():
        lines.append(f"  {name}: {_hours(secs)} down")
    credit = d["credit"]
    state = "eligible" if credit["eligible"] else "needs a reported failure and a claim"
    lines.append(f"credit: {credit['percent']} % ({state}): {credit['amount']}")
    for p in d["penalties"]:
        lines.append(f"  incident {p['incident']}: due {p['repair_due']}, "
                     f"{p['full_units']} full unit(s) late: {p['amount']}")
    capped = " (capped at the monthly fee)" if d["penalties_capped"] else ""
    lines.append(f"penalties: {d['penalties_total']}{capped}")
    return "\n".join(lines)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.sla import service

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            try:
                tenant, statement = service.report(s, args.tenant, args.period)
            except CentralaError as err:
                print(f"centrala: {err.message}", file=sys.stderr)
                return 2
            data = service.as_dict(tenant, args.period, statement)
    finally:
        engine.dispose()
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else _text(data))
    return 0


def run_prober(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.sla import prober

    return prober.main(settings)
