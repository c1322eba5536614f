"""SIP bans in the database and in Asterisk's ACL file: what the daemon, the CLI and the
panel share.

The ``sip_ban`` table is the truth; ``pjsip_bans.conf`` (:mod:`.sip_acl`) is rendered
from it. Every ban and lift is also a ``security_event`` (``sip.ban`` severity alert,
``sip.unban``), written in the same transaction as the row. The caller commits.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.engine import ami_sync
from controlplane.models.sip_bans import SipBan
from controlplane.security import audit, bans, sip_acl


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def normalise(address: str) -> str:
    """An address as stored (``ValueError`` naming it when it is not one)."""
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        raise ValueError(f"{address!r} is not an IPv4 or IPv6 address") from None


def active(session: Session, now: datetime) -> list[SipBan]:
    """Bans in force at ``now``, oldest first."""
    return list(session.scalars(
        select(SipBan).where(SipBan.lifted_at.is_(None), SipBan.expires_at > now)
        .order_by(SipBan.created_at, SipBan.id)))


def unlifted(session: Session) -> list[SipBan]:
    """Bans nobody lifted yet, expired ones included (the daemon lifts those)."""
    return list(session.scalars(select(SipBan).where(SipBan.lifted_at.is_(None))
                                .order_by(SipBan.id)))


def recent(session: Session, limit: int = 100) -> list[SipBan]:
    """The newest bans, active or not (the panel's history)."""
    return list(session.scalars(select(SipBan).order_by(SipBan.created_at.desc(),
                                                        SipBan.id.desc()).limit(limit)))


def offences(session: Session, since: datetime) -> dict[str, list[datetime]]:
    """Start times of each address's bans since ``since`` (repeat offenders)."""
    out: dict[str, list[datetime]] = {}
    for address, created in session.execute(
            select(SipBan.address, SipBan.created_at).where(SipBan.created_at >= since)):
        out.setdefault(address, []).append(created)
    return out


def add(session: Session, ban: bans.Ban) -> SipBan:
    """Store a ban decided by the machine, with its ``sip.ban`` alert event."""
    row = SipBan(address=ban.address, reason=ban.reason[:200], failures=ban.failures,
                 offence=ban.offence, accounts=list(ban.accounts), created_at=_dt(ban.since),
                 expires_at=_dt(ban.until), lifted_by="")
    session.add(row)
    # Account names stay in the ban row (operator CLI): the event trail is read per tenant.
    audit.record(session, "sip.ban", severity="alert", source=ban.address,
                 detail={"failures": ban.failures, "offence": ban.offence,
                         "kinds": list(ban.kinds), "accounts_tried": len(ban.accounts),
                         "until": _dt(ban.until).isoformat(),
                         "ban_s": round(ban.until - ban.since)})
    return row


def lift(session: Session, address: str, by: str, now: datetime, reason: str = "lifted",
         ) -> list[SipBan]:
    """Lift every unlifted ban of ``address`` (``by``: who or what); audited as ``sip.unban``.

    Returns the rows lifted (empty: the address was not banned, nothing is recorded).
    """
    rows = list(session.scalars(select(SipBan).where(
        SipBan.address == normalise(address), SipBan.lifted_at.is_(None))))
    for row in rows:
        row.lifted_at = now
        row.lifted_by = by[:200]
    if rows:
        audit.record(session, "sip.unban", source=rows[0].address, actor=by,
                     detail={"reason": reason, "bans": [r.id for r in rows]})
    return rows


# ---- the ACL file ----

def etc_dir(settings: Settings) -> Path:
    """The platform Asterisk's configuration folder (``controlplane.asterisk.Instance``)."""
    return settings.runtime_dir / "platform" / "etc"


def render(session: Session, now: datetime) -> str:
    return sip_acl.render_bans(b.address for b in active(session, now))


def write_file(etc: Path, text: str) -> bool:
    """Replace ``pjsip_bans.conf`` atomically if its text differs; True when written.

    The file must stay readable by the chroot's ``asterisk`` user: a new one takes the
    owner of ``pjsip.conf`` beside it (mode 0640, like every rendered file).
    """
    path = etc / sip_acl.BANS_FILE
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    etc.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".conf.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o640)
    reference = path if path.exists() else etc / "pjsip.conf"
    if reference.exists():
        st = reference.stat()
        os.chown(tmp, st.st_uid, st.st_gid)
    tmp.replace(path)
    return True


@dataclass(frozen=True)
class Applied:
    written: bool
    reloaded: bool
    error: str = ""


def apply_now(settings: Settings, session: Session, now: datetime | None = None) -> Applied:
    """Render from the table, write, and reload PJSIP over AMI (CLI: works without the daemon).

    A reload that fails (Asterisk down) is reported, not raised: Asterisk reads the file
    when it starts, and the daemon re-applies on its next sync.
    """
    now = now or datetime.now(UTC)
    if not write_file(etc_dir(settings), render(session, now)):
        return Applied(False, False)
    try:
        reload_pjsip_sync(settings)
    except (OSError, ami_sync.AmiError) as err:
        return Applied(True, False, str(err))
    return Applied(True, True)


RELOAD = {"Action": "Reload", "Module": "res_pjsip.so"}


def reload_pjsip_sync(settings: Settings) -> None:
    """Reload PJSIP (only changed files are re-read: here, the bans file)."""
    _, replies = ami_sync.actions(settings.bind_address, settings.platform.ami,
                                  settings.ami_user, settings.ami_password, [dict(RELOAD)])
    if replies[0].get("Response") != "Success":
        raise ami_sync.AmiError(f"PJSIP reload refused: {replies[0].get('Message')}")


def policy_of(settings: Settings) -> bans.BanPolicy:
    return bans.BanPolicy(max_failures=settings.sip_ban_failures,
                          window_s=settings.sip_ban_window_s, ban_s=settings.sip_ban_time_s,
                          max_ban_s=settings.sip_ban_max_time_s,
                          allow=bans.parse_networks(settings.sip_ban_allow))


def repeat_since(policy: bans.BanPolicy, now: datetime) -> datetime:
    return now - timedelta(seconds=policy.repeat_window_s)
