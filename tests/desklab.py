"""The desk's mail lab: a real Dovecot IMAP server and an SMTP server that delivers into it.

Import the fixture into a test module (``from desklab import maillab``). It yields a
:class:`MailLab` with

* a throwaway **Dovecot** (Debian's ``dovecot-imapd``) on a free loopback port: its own
  ``base_dir``, a passwd-file user database, one maildir per user, ``ssl = no`` and plain
  logins (loopback only). Dovecot refuses uid 0 for mail, so the maildirs belong to its own
  ``dovecot`` user and the lab folder (outside pytest's 0700 ``tmp_path``) is 0711;
* an **SMTP server** (aiosmtpd) on another free port that delivers every message to the
  maildir of each envelope recipient the lab knows (unknown ones are refused with 550), as a
  real mail host would: the tenant's SMTP server for the platform's replies and the
  customer's for their mail to the tenant.

:meth:`MailLab.add_user` creates a mailbox (address = login); :meth:`MailLab.send` is the
customer's mail client; :meth:`MailLab.inbox` reads a user's mailbox over IMAP.
Dovecot runs in the foreground as the fixture's child and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import os
import pwd
import secrets
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from helpers import free_port, until

DOVECOT = "/usr/sbin/dovecot"

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  user = root
}}
"""


@dataclass
class MailLab:
    root: Path
    imap_port: int
    smtp_port: int
    users: dict[str, str] = field(default_factory=dict)  # address → password

    def maildir(self, address: str) -> Path:
        return self.root / "mail" / address / "Maildir"

    def add_user(self, address: str, password: str | None = None) -> str:
        """A mailbox for ``address`` (its login); returns its password."""
        password = password or secrets.token_urlsafe(9)
        owner = pwd.getpwnam("dovecot")
        home = self.root / "mail" / address
        for part in ("cur", "new", "tmp"):
            (home / "Maildir" / part).mkdir(parents=True, exist_ok=True)
        for path in (home, home / "Maildir", *(home / "Maildir").iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        self.users[address] = password
        lines = [f"{a}:{{PLAIN}}{p}:{owner.pw_uid}:{owner.pw_gid}::{self.root}/mail/{a}::"
                 for a, p in self.users.items()]
        passwd = self.root / "passwd"
        passwd.write_text("\n".join(lines) + "\n")
        passwd.chmod(0o644)
        return password

    def deliver(self, address: str, data: bytes) -> Path:
        """Put one message into ``address``'s maildir (what a local delivery agent does)."""
        owner = pwd.getpwnam("dovecot")
        name = f"{time.time():.6f}.{secrets.token_hex(6)}.desklab"
        tmp = self.maildir(address) / "tmp" / name
        tmp.write_bytes(data)
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        final = self.maildir(address) / "new" / name
        tmp.replace(final)
        return final

    def send(self, msg: EmailMessage) -> None:
        """The customer's mail client: submit ``msg`` over SMTP."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as conn:
            conn.send_message(msg)

    def imap(self, address: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        conn.login(address, self.users[address])
        return conn

    def inbox(self, address: str) -> list[EmailMessage]:
        """Every message in ``address``'s INBOX (read over IMAP, without marking them seen)."""
        conn = self.imap(address)
        try:
            conn.select("INBOX", readonly=True)
            _typ, data = conn.uid("SEARCH", "ALL")
            out = []
            for uid in (data[0] or b"").split():
                _typ, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                out.append(email.message_from_bytes(raw, policy=email.policy.default))
            return out  # type: ignore[return-value]
        finally:
            conn.logout()

    def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> list[EmailMessage]:
        return until(lambda: (m if len(m := self.inbox(address)) >= count else None),
                     timeout=timeout, what=f"{count} mail(s) for {address}")


class Deliver:
    """aiosmtpd handler: every accepted recipient gets the message in its maildir."""

    def __init__(self, lab: MailLab) -> None:
        self.lab = lab

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if address not in self.lab.users:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data: bytes = envelope.original_content or envelope.content
        for rcpt in envelope.rcpt_tos:
            self.lab.deliver(rcpt, data)
        return "250 Message accepted for delivery"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def maillab() -> Iterator[MailLab]:
    if not Path(DOVECOT).exists():
        pytest.skip("dovecot-imapd is not installed (scripts/bootstrap.sh installs it)")
    root = Path(tempfile.mkdtemp(prefix="desklab-"))
    root.chmod(0o711)  # Dovecot's mail processes (user dovecot) walk through to the maildirs
    (root / "mail").mkdir(mode=0o755)
    lab = MailLab(root, free_port(), free_port())
    (root / "passwd").write_text("")
    (root / "passwd").chmod(0o644)
    conf = root / "dovecot.conf"
    conf.write_text(CONF.format(root=root, port=lab.imap_port))
    with open(root / "dovecot.stderr", "wb") as err:
        proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=err)
    smtp = Controller(Deliver(lab), hostname="127.0.0.1", port=lab.smtp_port)
    try:
        until(lambda: proc.poll() is not None or _listening(lab.imap_port), timeout=20,
              what="dovecot's IMAP port")
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {(root / 'dovecot.stderr').read_text()}"
                               f"{(root / 'dovecot.log').read_text() if (root / 'dovecot.log').exists() else ''}")
        smtp.start()
        yield lab
    finally:
        with contextlib.suppress(AssertionError):  # never started
            smtp.stop()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
