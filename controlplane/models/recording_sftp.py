"""Copies of a tenant's recordings on its own SFTP server.

* ``recording_sftp``: one row per tenant that set a server: host, port, user, the folder
  recordings go to, whether copying is on, and the server's host key as first seen and
  accepted by the tenant's admin (``host_key``, OpenSSH's one-line form): every later
  connection must present that key, so a server swapped in between gets nothing. The
  platform logs in with a key pair of its own per tenant (generated, the private half in a
  file readable by the service only; the public half is shown to paste into the server's
  ``authorized_keys``): no password of the tenant's is ever stored.
* ``recording_upload``: one row per recording copied (or being retried): where it went,
  how many bytes, when; ``error`` and ``attempts`` while it fails. A recording without a
  row of ``uploaded_at`` is still to copy, and the retention job keeps it until it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

HOST_MAX = 253
DIR_MAX = 500


class RecordingSftp(Base):
    __tablename__ = "recording_sftp"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    host: Mapped[str] = mapped_column(String(HOST_MAX), default="")
    port: Mapped[int] = mapped_column(Integer, default=22)
    username: Mapped[str] = mapped_column(String(64), default="")
    remote_dir: Mapped[str] = mapped_column(String(DIR_MAX), default="recordings")
    host_key: Mapped[str] = mapped_column(String(2000), default="")
    public_key: Mapped[str] = mapped_column(String(200), default="")
    last_ok_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RecordingUpload(Base):
    __tablename__ = "recording_upload"

    recording_id: Mapped[int] = mapped_column(
        ForeignKey("call_recording.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    remote_path: Mapped[str] = mapped_column(String(1000), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
