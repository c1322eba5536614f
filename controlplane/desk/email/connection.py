"""Connections to a mailbox's servers, and the admin page's "test connection".

Security per server: ``ssl`` (TLS from the first byte: IMAPS 993, SMTPS 465), ``starttls``
(plain, then upgraded: IMAP 143, submission 587) or ``plain`` (no encryption at all), which
is allowed only to a loopback host (a local relay or the tests' Dovecot): a password never
crosses a network in clear. Certificates are checked (the system's trust store).

Every connection has a timeout (:data:`TIMEOUT_S`), so a dead server costs a poll or a
test a bounded time. :func:`test` logs in to both servers and says, per server, "ok" or what
went wrong in words a person can act on; the password is never part of a message.
"""

from __future__ import annotations

import imaplib
import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass

TIMEOUT_S = 15.0
TEST_TIMEOUT_S = 6.0


class MailboxConnectionError(Exception):
    """A server could not be reached or refused the login (the message says which)."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str  # ssl | starttls | plain
    login: str
    password: str

    def __repr__(self) -> str:  # never the password
        return f"Endpoint({self.security}://{self.host}:{self.port}, login={self.login!r})"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_plain(ep: Endpoint) -> None:
    if ep.security == "plain" and not is_loopback(ep.host):
        raise MailboxConnectionError(
            f"{ep.host}: an unencrypted connection is allowed only to a loopback host")


def _why(err: BaseException) -> str:
    if isinstance(err, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return "unknown host"
    if isinstance(err, ssl.SSLError):
        return f"TLS failed ({err.reason or err})"
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return "login refused (check the login and password)"
    if isinstance(err, imaplib.IMAP4.error):
        text = str(err)
        if "AUTHENTICATIONFAILED" in text.upper() or "LOGIN" in text.upper():
            return "login refused (check the login and password)"
        return f"IMAP error: {text[:200]}"
    return f"{type(err).__name__}: {str(err)[:200]}"


def open_imap(ep: Endpoint, timeout: float = TIMEOUT_S) -> imaplib.IMAP4:
    """A logged-in IMAP connection. Raises :class:`MailboxConnectionError`."""
    _check_plain(ep)
    try:
        if ep.security == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                ep.host, ep.port, ssl_context=ssl.create_default_context(), timeout=timeout)
        else:
            conn = imaplib.IMAP4(ep.host, ep.port, timeout=timeout)
            if ep.security == "starttls":
                conn.starttls(ssl.create_default_context())
        try:
            conn.login(ep.login, ep.password)
        except BaseException:
            conn.shutdown()
            raise
        return conn
    except (OSError, imaplib.IMAP4.error) as err:
        raise MailboxConnectionError(f"IMAP {ep.host}:{ep.port}: {_why(err)}") from None


def open_smtp(ep: Endpoint, timeout: float = TIMEOUT_S) -> smtplib.SMTP:
    """A connected SMTP session (EHLO done, logged in when there is a login)."""
    _check_plain(ep)
    try:
        if ep.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(ep.host, ep.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(ep.host, ep.port, timeout=timeout)
        try:
            conn.ehlo()
            if ep.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if ep.login and ep.password:
                conn.login(ep.login, ep.password)
        except BaseException:
            conn.close()
            raise
        return conn
    except (OSError, smtplib.SMTPException) as err:
        raise MailboxConnectionError(f"SMTP {ep.host}:{ep.port}: {_why(err)}") from None


@dataclass(frozen=True)
class TestResult:
    imap: str  # "" when fine, else what went wrong
    smtp: str

    @property
    def ok(self) -> bool:
        return not self.imap and not self.smtp


def test(imap: Endpoint, smtp: Endpoint, timeout: float = TEST_TIMEOUT_S) -> TestResult:
    """Log in to both servers (IMAP: also select INBOX) and log out again; each server
    within ``timeout`` per step (a page waits for it)."""
    imap_error = smtp_error = ""
    try:
        conn = open_imap(imap, timeout)
        try:
            typ, _data = conn.select("INBOX", readonly=True)
            if typ != "OK":
                imap_error = f"IMAP {imap.host}:{imap.port}: INBOX cannot be opened"
        finally:
            conn.logout()
    except (MailboxConnectionError, OSError, imaplib.IMAP4.error) as err:
        imap_error = str(err)
    try:
        s = open_smtp(smtp, timeout)
        s.quit()
    except (MailboxConnectionError, OSError, smtplib.SMTPException) as err:
        smtp_error = str(err)
    return TestResult(imap_error, smtp_error)
