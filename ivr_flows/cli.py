"""``ivr`` command line: ``validate FILE...``.

The lead's ``centrala`` CLI calls :func:`register` with its subparsers; the
same commands run as ``python -m ivr_flows validate FILE...``. Each handler is
stored as ``func`` on the parsed arguments and returns the exit status.

Optional checks are enabled by options: ``--queue``/``--flow``/``--calendar``
list what the tenant has (flow ids of all FILEs given count as known flows once
``--flow`` or several files are given), ``--sounds-dir`` makes ``sound`` and
``audio`` prompts be looked up as files (any extension) in those directories.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .validator import FlowError, validate


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``ivr`` command (with its own subcommands) to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser("ivr", help="IVR flow tools")
    add_commands(parser)
    return parser


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add ``validate`` (and future IVR subcommands) under ``parser``."""
    commands = parser.add_subparsers(dest="ivr_command", required=True)
    validate_cmd = commands.add_parser("validate", help="validate IVR flow JSON files")
    validate_cmd.add_argument("files", nargs="+", metavar="FILE", type=Path)
    validate_cmd.add_argument(
        "--queue", action="append", default=None, help="a queue the tenant has"
    )
    validate_cmd.add_argument("--flow", action="append", default=None, help="a flow the tenant has")
    validate_cmd.add_argument(
        "--calendar", action="append", default=None, help="a holiday calendar"
    )
    validate_cmd.add_argument(
        "--sounds-dir", action="append", type=Path, default=None, help="where prompt audio lives"
    )
    validate_cmd.set_defaults(func=run_validate)


def _audio_lookup(dirs: Sequence[Path]) -> Callable[[str, str], bool]:
    def exists(kind: str, name: str) -> bool:
        for base in dirs:
            candidate = base / name
            if candidate.is_file() or any(candidate.parent.glob(candidate.name + ".*")):
                return True
        return False

    return exists


def run_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Validate every file; print ``FILE#/pointer: message (hint)`` per error."""
    out = out or sys.stdout
    docs: dict[Path, Any] = {}
    failed = False
    for path in args.files:
        try:
            docs[path] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{path}#: cannot read JSON: {exc} (fix the file)", file=out)
            failed = True
    known_flows = None
    if args.flow is not None or len(args.files) > 1:
        ids = {d.get("id") for d in docs.values() if isinstance(d, dict)}
        known_flows = set(args.flow or ()) | {i for i in ids if isinstance(i, str)}
    audio = _audio_lookup(args.sounds_dir) if args.sounds_dir else None
    for path, doc in docs.items():
        errors: list[FlowError] = validate(
            doc,
            audio_exists=audio,
            known_flows=known_flows,
            known_queues=args.queue,
            known_calendars=args.calendar,
        )
        for error in errors:
            print(f"{path}{error}", file=out)
        failed = failed or bool(errors)
    if not failed:
        print("ok", file=out)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ivr_flows``."""
    parser = argparse.ArgumentParser(prog="python -m ivr_flows", description="IVR flow tools")
    add_commands(parser)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status
