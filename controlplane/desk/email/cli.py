"""``centrala desk-mail``: the mailbox reader's process and a one-off poll.

::

    centrala desk-mail poller            # the supervisor runs it (procs.programs)
    centrala desk-mail poll --mailbox 3  # read one mailbox now, print what happened

Exit status 2 with a message on stderr when the poll reports an error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from controlplane.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("desk-mail", help="the desk's mailboxes (IMAP reader)")
    commands = parser.add_subparsers(dest="desk_mail_command", required=True)
    commands.add_parser("poller", help="read every active mailbox, forever").set_defaults(
        func=run_poller)
    once = commands.add_parser("poll", help="read one mailbox now")
    once.add_argument("--mailbox", type=int, required=True, metavar="ID")
    once.set_defaults(func=run_poll)


def run_poller(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.desk.email import poller

    return poller.main(settings)


def run_poll(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.desk.email import reader

    engine = make_engine(settings.database_url)
    try:
        got = reader.poll(make_sessionmaker(engine), settings.runtime_dir, args.mailbox)
    finally:
        engine.dispose()
    if got.error:
        print(f"error: {got.error}", file=sys.stderr)
        return 2
    print(f"read {got.read} mail(s), {got.created} new ticket(s)")
    return 0
