"""``centrala security``: SIP brute-force bans for the platform operator.

::

    centrala security bans [--all] [--json]   # active bans (--all: the recent history too)
    centrala security unban 198.51.100.7      # lift now: table, audit, ACL file, PJSIP reload

The allow-list is a setting, ``CENTRALA_SIP_BAN_ALLOW`` (comma-separated CIDRs, default
``127.0.0.1/32``); ``bans`` prints it. ``unban`` works with the control plane down (it
renders the ACL from the table and reloads PJSIP itself); a running control plane also
sees the lift within a couple of seconds and forgets the address's failures.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from controlplane.config import Settings


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``security`` and its sub-commands; handlers take ``(args, settings)``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "security", help="SIP brute-force bans: list, lift")
    commands = parser.add_subparsers(dest="security_command", required=True)
    lst = commands.add_parser("bans", help="list SIP bans (active; --all: recent too)")
    lst.add_argument("--all", action="store_true", help="also bans lifted or expired")
    lst.add_argument("--limit", type=int, default=50, help="history rows with --all")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=run_bans)
    unban = commands.add_parser("unban", help="lift the ban of an address now")
    unban.add_argument("address", metavar="ADDR")
    unban.set_defaults(func=run_unban)
    return parser


def ban_json(row: Any, now: datetime, *, accounts: bool) -> dict[str, Any]:
    """One ban for output; ``accounts`` (tenants' phone names) only for the operator."""
    out = {"id": row.id, "address": row.address, "reason": row.reason,
           "failures": row.failures, "offence": row.offence,
           "created_at": row.created_at.isoformat(), "expires_at": row.expires_at.isoformat(),
           "lifted_at": row.lifted_at.isoformat() if row.lifted_at else None,
           "lifted_by": row.lifted_by or None,
           "active": row.lifted_at is None and row.expires_at > now}
    if accounts:
        out["accounts"] = list(row.accounts or [])
    return out


def run_bans(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.security import ban_store

    now = datetime.now(UTC)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = (ban_store.recent(s, max(1, args.limit)) if args.all
                    else ban_store.active(s, now))
            items = [ban_json(r, now, accounts=True) for r in rows]
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"bans": items, "allow": list(settings.sip_ban_allow)}, indent=1))
        return 0
    if not items:
        print("no active SIP bans" if not args.all else "no SIP bans recorded")
    for b in items:
        state = ("ACTIVE " if b["active"] else "lifted " if b["lifted_at"] else "expired")
        until = b["expires_at"][:19] if b["active"] else (b["lifted_at"] or b["expires_at"])[:19]
        by = f" by {b['lifted_by']}" if b["lifted_by"] else ""
        tried = f" tried: {', '.join(b['accounts'])}" if b["accounts"] else ""
        print(f"{state} {b['address']:39} since {b['created_at'][:19]} until {until}{by}  "
              f"{b['failures']} failures, offence {b['offence']}{tried}")
    print(f"allow-list (CENTRALA_SIP_BAN_ALLOW, never banned): "
          f"{', '.join(settings.sip_ban_allow) or 'empty'}")
    return 0


def run_unban(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.db import make_engine, make_sessionmaker, transaction
    from controlplane.security import ban_store

    try:
        address = ban_store.normalise(args.address)
    except ValueError as err:
        print(f"centrala security unban: {err}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        with transaction(factory) as s:
            lifted = ban_store.lift(s, address, f"cli:{_operator()}", datetime.now(UTC))
        if not lifted:
            print(f"{address} is not banned")
            return 1
        with factory() as s:
            applied = ban_store.apply_now(settings, s)
    finally:
        engine.dispose()
    print(f"{address}: ban lifted")
    if applied.error:
        print(f"Asterisk not reloaded ({applied.error}); it reads the bans file when it "
              "starts, and the control plane re-applies it", file=sys.stderr)
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
