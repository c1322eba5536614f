"""``centrala tenant create`` and ``centrala operator create``: onboarding from a shell.

::

    centrala tenant create firma.pl --admin jan@firma.pl --licences 10 [--name "Firma"]
                                    [--locale pl] [--time-zone Europe/Warsaw]
    centrala operator create ola@centrala.example
    centrala mailcatcher                          # the local SMTP catcher (make up runs it)

Both create an account without a password and mail it a single-use activation link
(48 h). The mail job is written to the outbox with the account and queued at once when
Redis answers (else by the control plane's drain); the worker sends it. The same fields
and rules as the operator's page (:class:`~controlplane.tenants.schemas.TenantCreate`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from pydantic import ValidationError

from controlplane.config import Settings
from controlplane.errors import CentralaError


def register(subparsers: Any) -> None:
    """Add ``tenant``, ``operator`` and ``mailcatcher``; handlers take ``(args, settings)``."""
    parser = subparsers.add_parser("tenant", help="tenants: create one with its first admin")
    commands = parser.add_subparsers(dest="tenant_command", required=True)
    create = commands.add_parser("create", help="a tenant and its first administrator")
    create.add_argument("domain", metavar="DOMAIN")
    create.add_argument("--admin", required=True, metavar="EMAIL",
                        help="the first administrator's e-mail (gets the activation link)")
    create.add_argument("--licences", required=True, type=int, metavar="N")
    create.add_argument("--name", help="the tenant's name (default: the domain)")
    create.add_argument("--locale", default="pl", choices=["pl", "en"])
    create.add_argument("--time-zone", default="Europe/Warsaw")
    create.set_defaults(func=run_tenant_create)
    parser = subparsers.add_parser("operator", help="platform operators (manage tenants)")
    commands = parser.add_subparsers(dest="operator_command", required=True)
    op = commands.add_parser("create", help="a platform operator, activated by e-mail")
    op.add_argument("email", metavar="EMAIL")
    op.set_defaults(func=run_operator_create)
    subparsers.add_parser("mailcatcher", help="the local SMTP catcher (keeps mail in var/mail)"
                          ).set_defaults(func=run_catcher)


def _problems(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                     for e in err.errors())


def _send_now(settings: Settings, factory: Any) -> bool:
    """Queue the outbox now if Redis answers (the control plane would, within seconds)."""
    from controlplane.jobs import outbox
    from controlplane.jobs.worker import queue

    q = queue(settings)
    try:
        return outbox.drain(factory, lambda _name: q).left == 0
    finally:
        q.connection.close()


def _create(settings: Settings, build: Any) -> int:
    from controlplane.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        try:
            created = build(factory)
        except CentralaError as err:
            print(f"centrala: {err.message}", file=sys.stderr)
            return 2
        queued = _send_now(settings, factory)
    finally:
        engine.dispose()
    print(f"created {created.address}; activation link "
          + ("queued for mailing" if queued else
             "kept in the outbox (Redis unreachable: mailed once the control plane runs)"))
    return 0


def run_tenant_create(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.models.base import utcnow
    from controlplane.tenants import service
    from controlplane.tenants.schemas import TenantCreate

    try:
        req = TenantCreate.model_validate({
            "domain": args.domain, "admin_email": args.admin, "licences": args.licences,
            "name": args.name, "locale": args.locale, "time_zone": args.time_zone})
    except ValidationError as err:
        print(f"centrala: {_problems(err)}", file=sys.stderr)
        return 2
    return _create(settings, lambda f: service.create_tenant(
        f, req, by=f"cli:{getpass.getuser()}", source="cli", now=utcnow()))


def run_operator_create(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import TypeAdapter

    from controlplane.models.base import utcnow
    from controlplane.tenants import service
    from controlplane.tenants.schemas import Email

    try:
        email = TypeAdapter(Email).validate_python(args.email)
    except ValidationError as err:
        print(f"centrala: {_problems(err)}", file=sys.stderr)
        return 2
    return _create(settings, lambda f: service.create_operator(
        f, email, by=f"cli:{getpass.getuser()}", now=utcnow()))


def run_catcher(args: argparse.Namespace, settings: Settings) -> int:
    from controlplane.mail import catcher

    catcher.run(settings)
    return 0
