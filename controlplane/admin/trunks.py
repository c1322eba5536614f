"""Trunks' rules: a carrier's SIP trunk of one tenant, identified by its address, never by name.

Asterisk matches a trunk's inbound calls by their source address alone (``identify_by =
ip``, ``match = host``): a name or From user a caller sends selects nothing. So a trunk's
``host`` must be an address (or host name) no other trunk of any tenant has, which the
render checks platform-wide and :func:`save_trunk` names by field first. The SIP object
name is the platform's (``<tenant>-trunk-<n>``), never the client's. The carrier's
password is write-only: the API and the pages never show it back.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlplane.admin import store
from controlplane.admin.exceptions import FieldIssue, InUse, InvalidFields
from controlplane.admin.routes import routes_using_trunk
from controlplane.admin.service import TRANSPORTS, tenant_slug
from controlplane.models import Trunk
from dialplan.checks import HOSTNAME_RE


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOSTNAME_RE.match(host)) and not host.replace(".", "").isdigit()


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "on", "yes")


def save_trunk(s: Session, tenant_id: int, tenant_domain: str, row: Trunk | None,
               values: dict[str, Any]) -> Trunk:
    """Create or change a trunk from ``values``; flushed, not committed."""
    issues: list[FieldIssue] = []
    cur: dict[str, Any] = ({"host": row.host, "port": row.port, "transport": row.transport,
                            "username": row.username, "register": row.register,
                            "channels": row.channels} if row else
                           {"port": 5060, "transport": "udp", "register": True, "channels": 30})
    merged = {**cur, **{k: v for k, v in values.items() if v is not None or k == "host"}}
    host = str(merged.get("host") or "").strip().lower()
    if not host or not _host_ok(host):
        issues.append(FieldIssue("host", _("the carrier's IP address or host name")))
    elif s.scalar(select(Trunk.id).where(func.lower(Trunk.host) == host,
                                         Trunk.id != (row.id if row else -1))) is not None:
        issues.append(FieldIssue("host", _("another trunk has the address %(host)s: trunk calls "
                                           "are identified by address", host=host)))
    port = _number(merged.get("port"), "port", 1, 65535, issues)
    channels = _number(merged.get("channels"), "channels", 1, 10_000, issues)
    transport = str(merged.get("transport") or "udp")
    if transport not in TRANSPORTS:
        issues.append(FieldIssue("transport", _("udp or tcp")))
    username = str(merged.get("username") or "").strip()
    if not username or any(c in username for c in " @:;<>\"\n") or len(username) > 100:
        issues.append(FieldIssue("username", _("the user name the carrier gave you")))
    secret = values.get("secret")
    if row is None and not secret:
        issues.append(FieldIssue("secret", _("the password the carrier gave you")))
    if secret and (any(c in str(secret) for c in "\n;") or len(str(secret)) > 128):
        issues.append(FieldIssue("secret", _("at most 128 characters, no ';' or newline")))
    if issues:
        raise InvalidFields(issues)
    if row is None:
        n = 1 + (s.scalar(select(func.count()).select_from(Trunk)
                          .where(Trunk.tenant_id == tenant_id)) or 0)
        name = f"{tenant_slug(tenant_domain)}-trunk-{n}"
        while s.scalar(select(Trunk.id).where(Trunk.name == name)) is not None:
            n += 1
            name = f"{tenant_slug(tenant_domain)}-trunk-{n}"
        row = Trunk(tenant_id=tenant_id, name=name)
        s.add(row)
    row.host, row.port, row.transport, row.username = host, port or 5060, transport, username
    row.register = _flag(merged.get("register"), True)
    row.channels = channels or 30
    if secret:
        row.secret = str(secret)
    s.flush()
    return row


def _number(raw: Any, field: str, low: int, high: int, issues: list[FieldIssue]) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        issues.append(FieldIssue(field, _("a whole number from %(low)s to %(high)s", low=low,
                                          high=high)))
        return None
    if not low <= value <= high:
        issues.append(FieldIssue(field, _("a whole number from %(low)s to %(high)s", low=low,
                                          high=high)))
        return None
    return value


def delete_trunk(s: Session, row: Trunk) -> None:
    used = store.dids_of_trunk(s, row.id)
    if used:
        raise InUse(f"DIDs {', '.join(used)} arrive on trunk {row.name}: move them first",
                    [f"DID {n}" for n in used])
    routed = routes_using_trunk(s, row.id)
    if routed:
        raise InUse(f"outbound routes {', '.join(routed)} send calls over trunk {row.name}: "
                    "change them first", [f"route {n}" for n in routed])
    s.delete(row)
    s.flush()


def trunk_json(row: Trunk) -> dict[str, Any]:
    """A trunk as the API shows it: never its password."""
    return {"id": row.id, "name": row.name, "host": row.host, "port": row.port,
            "transport": row.transport, "username": row.username, "register": row.register,
            "channels": row.channels, "identified_by": "address"}
