"""One webhook POST, to an address that was checked (no DNS rebinding), bounded in time.

Theory of operation: :func:`resolve_target` parses the URL (http or https only, no user
info), resolves the host ONCE and refuses it when any of its addresses is private,
loopback, link-local, CGNAT, multicast or IPv6-local (:func:`events.refused_reason`),
unless private targets are allowed (``CENTRALA_WEBHOOKS_ALLOW_PRIVATE=1``). :func:`post`
then connects to exactly that address — the Host header, TLS SNI and certificate check
still use the URL's host name — so a name that resolves to a public address at the check
and to 127.0.0.1 a moment later cannot steer the request inside. Redirects are not
followed (a 3xx is a failed attempt). The same check runs when a subscription is saved and
before every attempt.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from controlplane.webhooks.events import EXCERPT_CHARS, TIMEOUT_S, refused_reason
from controlplane.webhooks.exceptions import InvalidTarget

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (Host header, SNI)
    port: int
    path: str  # path and query
    address: str  # the checked IP we connect to


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (see error)
    error: str
    duration_ms: int
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def resolve_target(url: str, allow_private: bool,
                   resolver: Resolver = system_resolver) -> Target:
    """The URL's checked target, or :class:`InvalidTarget` saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise InvalidTarget(f"not a valid URL: {err}", kind="bad_url") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidTarget("the URL must start with http:// or https://", kind="scheme")
    if not parts.hostname:
        raise InvalidTarget("the URL has no host", kind="no_host")
    if parts.username or parts.password:
        raise InvalidTarget("the URL must not contain a user name or password",
                            kind="userinfo")
    port = port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as err:
        raise InvalidTarget(f"the host {host} cannot be resolved ({err})", kind="unresolvable",
                            params={"host": host}) from None
    if not addresses:
        raise InvalidTarget(f"the host {host} has no address", kind="unresolvable",
                            params={"host": host})
    if not allow_private:
        for address in addresses:
            reason = refused_reason(address)
            if reason is not None:
                raise InvalidTarget(f"the host {host} resolves to {address}, {reason}; "
                                    "webhooks are sent only to public addresses",
                                    kind="refused",
                                    params={"host": host, "address": address, "reason": reason})
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, body: bytes, headers: dict[str, str],
         timeout_s: float = TIMEOUT_S) -> Answer:
    """POST ``body`` to ``target``; never raises for network or HTTP trouble."""
    conn_type = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = conn_type(target, timeout_s)
    started = time.monotonic()
    deadline = started + timeout_s
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        resp = conn.getresponse()
        chunk = resp.read(EXCERPT_CHARS * 4) if time.monotonic() < deadline else b""
        excerpt = chunk.decode("utf-8", "replace")[:EXCERPT_CHARS]
        return Answer(resp.status, "", _ms(started), excerpt)
    except (OSError, http.client.HTTPException) as err:
        kind = "timeout" if isinstance(err, TimeoutError | socket.timeout) else type(err).__name__
        return Answer(None, f"{kind}: {err}"[:300], _ms(started), "")
    finally:
        conn.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
