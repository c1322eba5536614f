"""The ``centrala`` command: the composition root for every process."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from controlplane.config import Settings, load_settings


def _asterisk(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import asterisk, stack

    if args.action == "provision":
        inst = asterisk.provision(settings)
        print(f"{inst.version} ({'chroot ' + str(inst.root) if inst.chrooted else 'system'})")
        return 0
    if args.action == "render":
        changed = stack.apply_platform_config(settings)
        print("changed: " + (", ".join(changed) or "nothing"))
        return 0
    instance = stack.platform_instance(settings)
    if args.action == "start":
        stack.start_platform_asterisk(settings)
        print("platform Asterisk running")
    elif args.action == "stop":
        instance.stop()
        print("platform Asterisk stopped")
    elif args.action == "status":
        up = instance.running()
        print(f"platform Asterisk: {'running' if up else 'stopped'} ({instance.inst.version})")
        return 0 if up else 1
    return 0


def _lab(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import stack
    from dialplan import labcall

    if args.action == "start":
        stack.start_lab(settings)
        print("lab running (carrier, public, desk phones" + (", baresip)" if stack.pid_alive(settings, "baresip") else ")"))
    elif args.action == "stop":
        stack.stop_process(settings, "baresip")
        stack.lab_instance(settings).stop()
        print("lab stopped")
    elif args.action == "call":
        call_id = labcall.call(settings, labcall.CallSpec(
            did=args.did, caller_id=args.caller_id, tone_hz=args.tone, play=args.play,
            dtmf=args.dtmf, dtmf_at=args.dtmf_at, hangup_after=args.hangup_after))
        print(call_id)
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import stack

    login = stack.database(settings)
    print(f"database ready; demo login: {login.address}")
    return 0


def _controlplane(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.daemon import run

    run(settings, standby=args.standby)
    return 0


def _web(args: argparse.Namespace, settings: Settings) -> int:
    from web import serve

    serve(settings)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.jobs.worker import run_worker

    run_worker(settings, burst=args.burst)
    return 0


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import supervisor

    return supervisor.up(settings, with_lab=not args.no_lab)


def _down(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import supervisor

    supervisor.down(settings)
    return 0


def _supervise(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane import supervisor

    return supervisor.supervise(settings, with_lab=not args.no_lab)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.health import check_all, supervision

    bad = 0
    for check in check_all(settings):
        bad += not check.ok
        label = "BAD" if not check.ok else "WARN" if check.warn else "ok "
        print(f"{label} {check.name:9} {check.detail}")
    print("\n".join(supervision(settings)))  # each process: uptime, restarts, last exit
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="centrala", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("asterisk", help="provision and control the platform Asterisk")
    p.add_argument("action", choices=["provision", "start", "stop", "status", "render"])
    p.set_defaults(func=_asterisk)

    p = sub.add_parser("lab", help="the lab: carrier, public and desk phones")
    lab_sub = p.add_subparsers(dest="action", required=True)
    lab_sub.add_parser("start")
    lab_sub.add_parser("stop")
    c = lab_sub.add_parser("call", help="a member of the public calls a DID")
    c.add_argument("did")
    c.add_argument("--caller-id", default="48600100200")
    c.add_argument("--tone", type=int, default=600, help="tone (Hz) the caller plays")
    c.add_argument("--play", help="sound file the caller plays instead of a tone")
    c.add_argument("--dtmf", default="", help="digits to send after --dtmf-at seconds")
    c.add_argument("--dtmf-at", type=float, default=1.0)
    c.add_argument("--hangup-after", type=float, default=0, help="hang up after N seconds")
    p.set_defaults(func=_lab)

    p = sub.add_parser("db", help="migrate the database and seed the demo tenant")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(func=_db)

    p = sub.add_parser("controlplane", help="run the control plane daemon")
    p.add_argument("--standby", action="store_true",
                   help="if another runs, wait (imports done) and take over when it is gone")
    p.set_defaults(func=_controlplane)
    sub.add_parser("web", help="run the panel").set_defaults(func=_web)
    p = sub.add_parser("worker", help="run an RQ worker")
    p.add_argument("--burst", action="store_true")
    p.set_defaults(func=_worker)
    p = sub.add_parser("up", help="start everything")
    p.add_argument("--no-lab", action="store_true")
    p.set_defaults(func=_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=_down)
    p = sub.add_parser("supervise", help="run the supervisor in the foreground (systemd; "
                       "`up` starts it detached)")
    p.add_argument("--no-lab", action="store_true")
    p.set_defaults(func=_supervise)
    sub.add_parser("status", help="health of every part").set_defaults(func=_status)

    from controlplane.campaigns.cli import register as register_campaign

    register_campaign(sub)  # `campaign create|import|list`: handlers take (args, settings)
    from controlplane.security.cli import register as register_security

    register_security(sub)  # `security bans|unban`: SIP brute-force bans
    from controlplane.tenants.cli import register as register_tenants

    register_tenants(sub)  # `tenant create`, `operator create`, `mailcatcher`
    from controlplane.sla.cli import register as register_sla

    register_sla(sub)  # `sla report`: a tenant's availability, credits and penalties
    from controlplane.desk.email.cli import register as register_desk_mail

    register_desk_mail(sub)  # `desk-mail poller|poll`: the desk's mailboxes (IMAP reader)
    for optional in ("amd.cli", "ivr_flows.cli"):
        _register_optional(sub, optional)
    return parser


def _register_optional(sub: argparse._SubParsersAction, module: str) -> None:  # type: ignore[type-arg]
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return
    register: Callable[[argparse._SubParsersAction], argparse.ArgumentParser] = mod.register  # type: ignore[type-arg]
    # These commands need no platform settings: they are handed the parsed arguments only.
    register(sub).set_defaults(standalone=True)


def main(argv: list[str] | None = None) -> int:
    from controlplane.asterisk import AsteriskError
    from dialplan.problems import ConfigError

    if argv is None:  # a process of its own (tests call main in theirs, with arguments)
        os.umask(0o077)  # what our processes create is the service's alone
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        if getattr(args, "standalone", False):  # `amd …` and `ivr …` (registered by their packages)
            handler = getattr(args, "amd_func", None) or args.func
            return int(handler(args) or 0)
        return int(args.func(args, settings) or 0)
    except (AsteriskError, ConfigError) as err:
        print(f"centrala: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
