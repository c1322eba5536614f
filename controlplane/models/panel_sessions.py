"""Panel login sessions, kept on the server so that they can be ended at once.

The browser's cookie carries only a random session id; the table stores its SHA-256
(a stolen database does not hand out live sessions). A session is live while it is not
revoked and neither its idle nor its absolute expiry has passed. Logout, a password
change and an administrator's force logout set ``revoked_at`` and say why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class PanelSession(Base):
    __tablename__ = "panel_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the cookie id
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    idle_expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    absolute_expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    source: Mapped[str] = mapped_column(String(100), default="")  # client address
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # The browser it was opened in (the known-device id, web.known_devices): "one user on
    # one workstation" compares these. Empty for sessions older than the rule.
    workstation: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # A fingerprint of the password hash at login: a password changed by any means
    # (panel, CLI, SQL) ends the session on its next request.
    password_fp: Mapped[str] = mapped_column(String(16), default="")
    # Small per-session values (flash messages); never the CSRF token, which is derived.
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_reason: Mapped[str] = mapped_column(String(100), default="")
