"""The local SMTP catcher: an aiosmtpd server that keeps every message as a file.

``make up`` (the supervisor, :mod:`controlplane.procs.programs`) runs ``centrala
mailcatcher`` when ``CENTRALA_SMTP_URL`` is not set, so the platform's mail (activation
links, password resets, webhook alerts) goes through real SMTP to 127.0.0.1:``mail_port``
and stays on this machine: the platform operator reads it on *Mail*
(:mod:`controlplane.tenants.http.operator`), tests read it with
:mod:`controlplane.mail.mailbox`.

Each message becomes ``<runtime>/mail/<UTC time>-<random>.eml``, written to a temporary
name and renamed (a reader never sees half a message), mode 0600 inside a 0700 folder:
the mail holds activation links, which are as good as a password for 48 h. The catcher
accepts any sender and recipient (it delivers nothing) but only on loopback, and refuses
messages over :data:`MAX_MESSAGE_BYTES`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from controlplane.config import Settings

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
HOST = "127.0.0.1"


class KeepHandler:
    """aiosmtpd handler: every DATA becomes one ``.eml`` file under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data: bytes = envelope.original_content or envelope.content
        if len(data) > MAX_MESSAGE_BYTES:
            return "552 message too big"
        path = store(self.folder, data, envelope.rcpt_tos)
        log.info("kept mail for %d recipient(s) as %s", len(envelope.rcpt_tos), path.name)
        return "250 Message accepted for delivery"


def store(folder: Path, data: bytes, recipients: list[str]) -> Path:
    """Write one message atomically, readable by the service only."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{stamp}-{secrets.token_hex(4)}.eml"
    tmp = folder / f".{name}.tmp"
    # X-Centrala-Rcpt: the envelope recipients (Bcc included), which headers may not show.
    head = b"".join(b"X-Centrala-Rcpt: " + r.encode() + b"\r\n" for r in recipients)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(head + data)
    final = folder / name
    tmp.replace(final)
    return final


def controller(folder: Path, port: int, host: str = HOST) -> Controller:
    """A catcher for ``folder`` on ``host:port`` (not started). ``port`` 0 is not allowed
    by aiosmtpd's readiness check: tests pick a free port first."""
    return Controller(KeepHandler(folder), hostname=host, port=port,
                      data_size_limit=MAX_MESSAGE_BYTES)


def run(settings: Settings) -> None:
    """``centrala mailcatcher``: serve until SIGTERM or SIGINT."""
    from controlplane.logs import setup_logging

    setup_logging(settings, "mailcatcher")
    ctl = controller(settings.mail_dir, settings.mail_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ctl.start()
    log.info("mail catcher on %s:%d keeping mail in %s", HOST, settings.mail_port,
             settings.mail_dir)
    try:
        stop.wait()
    finally:
        ctl.stop()
