"""``ivr`` command line: ``validate FILE...``, ``deploy``, ``versions``, ``rollback``.

The lead's ``centrala`` CLI calls :func:`register` with its subparsers; the
same commands run as ``python -m ivr_flows validate FILE...``. Each handler is
stored as ``func`` on the parsed arguments and returns the exit status.

Optional checks are enabled by options: ``--queue``/``--flow``/``--calendar``
list what the tenant has (flow ids of all FILEs given count as known flows once
``--flow`` or several files are given), ``--sounds-dir`` makes ``sound`` and
``audio`` prompts be looked up as files (any extension) in those directories.

``deploy``, ``versions`` and ``rollback`` work on the platform database (the
``CENTRALA_*`` settings, read when the command runs) through
:mod:`controlplane.ivr.store`::

    ivr deploy flows/main_menu.json --tenant demo.centrala.local --publish --did 48221000001
    ivr versions main_menu --tenant demo.centrala.local
    ivr rollback main_menu 2 --tenant demo.centrala.local
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import json_text
from .validator import FlowError, validate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


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

    deploy = commands.add_parser(
        "deploy", help="store a flow file as the next draft version (optionally publish it)"
    )
    deploy.add_argument("file", metavar="FILE", type=Path)
    deploy.add_argument("--tenant", required=True, metavar="DOMAIN", help="the tenant's domain")
    deploy.add_argument("--name", help="flow name (default: the document's id)")
    deploy.add_argument("--publish", action="store_true", help="publish the version at once")
    deploy.add_argument("--did", metavar="NUMBER", help="route new calls on this DID into it")
    deploy.set_defaults(func=run_deploy)

    versions = commands.add_parser("versions", help="list the versions of a stored flow")
    versions.add_argument("name", metavar="NAME")
    versions.add_argument("--tenant", required=True, metavar="DOMAIN")
    versions.set_defaults(func=run_versions)

    rollback = commands.add_parser(
        "rollback", help="make an earlier published version the one new calls get"
    )
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument("version", metavar="VERSION", type=int)
    rollback.add_argument("--tenant", required=True, metavar="DOMAIN")
    rollback.set_defaults(func=run_rollback)

    audio = commands.add_parser("audio", help="upload a recorded prompt flows can play")
    audio.add_argument("file", metavar="FILE", type=Path)
    audio.add_argument("--name", required=True, help='the name flows use: {"audio": NAME}')
    audio.add_argument("--tenant", required=True, metavar="DOMAIN")
    audio.set_defaults(func=run_audio)


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
            docs[path] = json_text.loads(path.read_text(encoding="utf-8"))
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


@contextmanager
def _database() -> Iterator[sessionmaker[Session]]:
    """The platform database from the ``CENTRALA_*`` settings (read only when needed)."""
    from controlplane.config import load_settings
    from controlplane.db import make_engine, make_sessionmaker

    engine = make_engine(load_settings().database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def _tenant_id(session: Session, domain: str) -> int:
    from sqlalchemy import select

    from controlplane.ivr.exceptions import FlowNotFound
    from controlplane.models import Tenant

    tenant_id = session.scalar(select(Tenant.id).where(Tenant.domain == domain.lower()))
    if tenant_id is None:
        raise FlowNotFound(f"no tenant with domain {domain!r}")
    return tenant_id


def run_deploy(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Save FILE as a draft of the tenant's flow; ``--publish`` and ``--did`` go further."""
    from controlplane.db import transaction
    from controlplane.ivr import changes, did_store
    from controlplane.ivr import exceptions as ivr_errors
    from controlplane.ivr import store as flow_store

    out = out or sys.stdout
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}#: cannot read the file: {exc} (check the path)", file=out)
        return 1
    try:
        with _database() as factory, transaction(factory) as s:
            tenant_id = _tenant_id(s, args.tenant)
            actor = changes.Actor(None, "cli", "cli")
            row = changes.save(s, tenant_id, args.name, text, actor)
            name = row.flow.name
            if args.publish:  # the panel's publish: everything the flow names must exist
                changes.publish(s, tenant_id, name, row.version, actor)
            if args.did:
                did_store.bind_did(s, tenant_id, args.did, name)
            status, number = row.status, row.version
            live = row.flow.current_version_id == row.id
            flow = flow_store.parsed(row)
    except ivr_errors.FlowInvalid as err:
        for error in err.errors:
            print(f"{path}{error}", file=out)
        return 1
    except ivr_errors.IvrStoreError as err:
        print(f"{path}#: {err} (nothing was changed)", file=out)
        return 1
    line = f"{name} version {number}: {status}"
    if live:
        line += ", current (new calls get it)"
    if args.did:
        line += f"; DID {args.did} -> {name}"
    print(line, file=out)
    if args.publish:
        _prefetch(flow, out)
    return 0


def _prefetch(flow: Any, out: TextIO) -> None:
    """Synthesise the static TTS prompts of a published flow (a failure only warns)."""
    from controlplane.config import load_settings
    from controlplane.tts import EspeakEngine, TtsError, cache_dir, prefetch

    try:
        count = prefetch(EspeakEngine(cache_dir(load_settings())), flow)
    except TtsError as err:
        print(f"warning: static prompts not synthesised yet: {err}", file=out)
        return
    if count:
        print(f"{count} static TTS prompt(s) ready", file=out)


def run_versions(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the versions of a flow, marking the current one with ``*``."""
    from controlplane.ivr import exceptions as ivr_errors
    from controlplane.ivr import store as flow_store

    out = out or sys.stdout
    try:
        with _database() as factory, factory() as s:
            flow = flow_store.get_flow(s, _tenant_id(s, args.tenant), args.name)
            rows = flow_store.versions(s, flow.id)
            current = flow.current_version_id
    except ivr_errors.IvrStoreError as err:
        print(f"ivr versions: {err}", file=out)
        return 1
    print(
        f"  {'version':>7}  {'status':9}  {'created (UTC)':19}  {'published (UTC)':19}  sha256",
        file=out,
    )
    for row in rows:
        mark = "*" if row.id == current else " "
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        published = row.published_at.strftime("%Y-%m-%d %H:%M:%S") if row.published_at else "-"
        print(
            f"{mark} {row.version:>7}  {row.status:9}  {created:19}  {published:19}  {row.sha256[:12]}",
            file=out,
        )
    return 0


def run_rollback(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Point the flow at an earlier published version."""
    from controlplane.db import transaction
    from controlplane.ivr import changes
    from controlplane.ivr import exceptions as ivr_errors

    out = out or sys.stdout
    try:
        with _database() as factory, transaction(factory) as s:
            changes.rollback(s, _tenant_id(s, args.tenant), args.name, args.version,
                             changes.Actor(None, "cli", "cli"))
    except ivr_errors.IvrStoreError as err:
        print(f"ivr rollback: {err}", file=out)
        return 1
    print(f"{args.name}: version {args.version} is current (new calls get it)", file=out)
    return 0


def run_audio(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Convert FILE (any format sox reads) and store it as the tenant's prompt NAME."""
    from controlplane import audio_store
    from controlplane.config import load_settings
    from controlplane.db import transaction
    from controlplane.ivr import exceptions as ivr_errors

    out = out or sys.stdout
    try:
        data = args.file.read_bytes()
        with _database() as factory, transaction(factory) as s:
            row = audio_store.upload(s, load_settings(), _tenant_id(s, args.tenant), args.name, data)
    except (OSError, audio_store.AudioRejected, ivr_errors.IvrStoreError) as err:
        print(f"{args.file}: {err}", file=out)
        return 1
    print(f"{args.name}: {row.duration_s:.1f} s, stored as {row.path}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ivr_flows``."""
    parser = argparse.ArgumentParser(prog="python -m ivr_flows", description="IVR flow tools")
    add_commands(parser)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status
