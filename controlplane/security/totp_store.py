"""A user's TOTP enrolment in the database (``user_totp``), over :mod:`.totp`'s rules.

States: no row (no second factor); a row without ``confirmed_at`` (enrolment started,
login does not ask yet); a confirmed row (login asks for a code or a recovery code).
Starting again replaces an unconfirmed secret; an administrator's reset deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from controlplane.models import UserTotp
from controlplane.security import totp


def enabled(s: Session, user_id: int) -> bool:
    row = s.get(UserTotp, user_id)
    return row is not None and row.confirmed_at is not None


def pending_secret(s: Session, user_id: int, now: datetime) -> str:
    """The secret of an enrolment in progress (a new one if none is); never for a
    confirmed enrolment (that secret is not shown again)."""
    row = s.get(UserTotp, user_id)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("the second factor is already on")
    if row is None:
        row = UserTotp(user_id=user_id, secret=totp.new_secret(), last_counter=0,
                       recovery_hashes=[], created_at=now)
        s.add(row)
        s.flush()
    return row.secret


def confirm(s: Session, user_id: int, code: str, now: datetime) -> list[str] | None:
    """Turn the second factor on if ``code`` matches the pending secret; returns the
    recovery codes (to show once), or None for a wrong code."""
    row = s.get(UserTotp, user_id)
    if row is None or row.confirmed_at is not None:
        return None
    counter = totp.accepted_counter(row.secret, code, now, row.last_counter)
    if counter is None:
        return None
    codes = totp.new_recovery_codes()
    row.last_counter, row.confirmed_at = counter, now
    row.recovery_hashes = [totp.recovery_hash(c) for c in codes]
    return codes


def check_login(s: Session, user_id: int, code: str, now: datetime) -> str | None:
    """``"totp"`` or ``"recovery"`` if ``code`` lets the user in (and spends it), else None."""
    row = s.get(UserTotp, user_id)
    if row is None or row.confirmed_at is None:
        return None
    counter = totp.accepted_counter(row.secret, code, now, row.last_counter)
    if counter is not None:
        row.last_counter = counter
        return "totp"
    left = totp.use_recovery_code(list(row.recovery_hashes or []), code)
    if left is not None:
        row.recovery_hashes = left
        return "recovery"
    return None


def recovery_left(s: Session, user_id: int) -> int:
    row = s.get(UserTotp, user_id)
    return len(row.recovery_hashes or []) if row is not None else 0


def reset(s: Session, user_id: int) -> bool:
    """Remove the user's second factor; False if there was none."""
    return bool(s.execute(delete(UserTotp).where(UserTotp.user_id == user_id)).rowcount)  # type: ignore[attr-defined]
