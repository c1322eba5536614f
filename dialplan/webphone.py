"""Where browser webphones reach Asterisk: SIP over WebSocket on Asterisk's HTTP server.

``res_pjsip_transport_websocket`` serves ``/ws`` on the HTTP server of ``http.conf``:
plain WS on the HTTP port (loopback: tests and a panel opened on the machine itself), and
WSS on the next port up when the panel serves HTTPS (``CENTRALA_WEB_TLS=1``), with the
panel's own certificate (:mod:`web.tls`), because a page served over HTTPS may only open
``wss://`` sockets. The media is WebRTC (``webrtc = yes`` in ``pjsip.conf``): DTLS-SRTP,
ICE, Opus first then G.711.
"""

from __future__ import annotations

from pathlib import Path

from controlplane.config import Settings

WEBRTC_CODECS = "opus,ulaw,alaw"
KIND = "webphone"
TRANSPORT = "ws"  # what ``phone_endpoint.transport`` says of a webphone


def wss_port(settings: Settings) -> int | None:
    """The WSS port (HTTP port + 1, Asterisk's usual 8089), or None without TLS."""
    return settings.platform.http + 1 if settings.web_tls else None


TLS_FILE = "webphone-tls.pem"  # in Asterisk's etc folder: the certificate, then its key


def tls_pem(settings: Settings) -> str | None:
    """The panel's certificate and key (:mod:`web.tls`, ``<runtime>/tls``) as one PEM, or
    None when the panel has not made them yet. Asterisk runs unprivileged and the panel's
    folder is root's (0700), so the pair is copied into Asterisk's own configuration
    folder (written 0640, Asterisk's group) with the rest of the rendered files."""
    folder = settings.runtime_dir / "tls"
    try:
        return (folder / "panel.crt").read_text() + (folder / "panel.key").read_text()
    except OSError:
        return None


def tls_path(settings: Settings) -> Path:
    """Where Asterisk reads :data:`TLS_FILE` (its etc folder: the runtime folder is seen at
    the same path inside its root filesystem)."""
    return settings.runtime_dir / "platform" / "etc" / TLS_FILE


def ws_url(settings: Settings, host: str | None = None) -> str:
    """The URL a browser opens: ``wss://`` when the panel is HTTPS, ``ws://`` otherwise.

    ``host`` is the name the browser used for the panel (the same machine runs Asterisk);
    None: the bind address."""
    host = host or settings.bind_address
    port = wss_port(settings)
    if port is not None:
        return f"wss://{host}:{port}/ws"
    return f"ws://{host}:{settings.platform.http}/ws"
