"""``send_mail``: one message over SMTP to the server ``CENTRALA_SMTP_URL`` names.

URL forms: ``smtp://host:port`` (plain, port 25 by default), ``smtp+starttls://host:port``
(upgrades with STARTTLS, 587), ``smtps://host:port`` (TLS from the first byte, 465); an
optional ``user:password@`` logs in (percent-encoded in the URL). The URL is a secret when
it holds a password: errors name :attr:`Settings.smtp_location`, never the URL.

Synchronous (``smtplib``) on purpose: it runs in RQ jobs (:mod:`controlplane.jobs.mail`),
where a retry is RQ's business; a page never waits for a mail server.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from controlplane.config import Settings

TIMEOUT_S = 20.0
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(Exception):
    """The message could not be handed to the mail server (the job will be retried)."""


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    user: str = ""
    password: str = ""

    def __repr__(self) -> str:  # never the password
        return f"Server({self.scheme}://{self.host}:{self.port}, user={self.user!r})"


def parse_url(url: str) -> Server:
    """The server of an SMTP URL; ValueError names what is wrong (without the password)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"CENTRALA_SMTP_URL: scheme must be one of {sorted(SCHEMES)}, "
                         f"not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("CENTRALA_SMTP_URL: no host")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise ValueError("CENTRALA_SMTP_URL: the port is not a number") from None
    return Server(parts.scheme, parts.hostname, port, unquote(parts.username or ""),
                  unquote(parts.password or ""))


def build_message(sender: str, to: str, subject: str, text: str,
                  html: str | None = None) -> EmailMessage:
    """A MIME message: plain text, plus an HTML alternative when given."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain="centrala.local")
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def send_mail(settings: Settings, to: str, subject: str, text: str,
              html: str | None = None) -> str:
    """Send one message to ``to``; returns its Message-ID. Raises :class:`MailError`."""
    server = parse_url(settings.smtp_url)
    msg = build_message(settings.mail_from, to, subject, text, html)
    try:
        if server.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_S,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
        with conn:
            if server.scheme == "smtp+starttls":
                conn.starttls(context=ssl.create_default_context())
            if server.user:
                conn.login(server.user, server.password)
            conn.send_message(msg)
    except (OSError, smtplib.SMTPException) as err:
        raise MailError(f"mail to {to} via {settings.smtp_location} failed: "
                        f"{type(err).__name__}: {err}") from err
    return str(msg["Message-ID"])
