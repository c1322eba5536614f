"""Run the panel with werkzeug's threaded server (``centrala web``), over HTTP or HTTPS."""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, make_server

from controlplane.logs import setup_logging
from web.tls import CertPair, ensure_certificate

if TYPE_CHECKING:
    from flask import Flask

    from controlplane.config import Settings

log = logging.getLogger(__name__)


def tls_context(pair: CertPair) -> ssl.SSLContext:
    """A server context for ``pair``: TLS 1.2 or newer, the library's default ciphers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pair.cert, pair.key)
    return ctx


def make_panel_server(settings: Settings, app: Flask, port: int | None = None) -> BaseWSGIServer:
    """The panel's server on ``settings.bind_address`` (``port``, default the panel's),
    serving HTTPS with the runtime's certificate when ``settings.web_tls``."""
    server = make_server(settings.bind_address, settings.web_port if port is None else port,
                         app, threaded=True)
    if settings.web_tls:
        pair = ensure_certificate(settings.runtime_dir, settings.bind_address)
        ctx = tls_context(pair)
        # Not werkzeug's own ssl_context argument: that wraps the listening socket so each
        # TLS handshake runs in the accepting thread, and one client that connects and
        # says nothing stalls the whole panel. Here the handshake runs in the request's
        # own thread, on its first read.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        server.ssl_context = ctx
        log.info("panel certificate %s (SHA-256 %s)", pair.cert, pair.fingerprint)
    return server


def serve(settings: Settings) -> None:
    """Serve the panel on ``settings.bind_address:settings.web_port`` until interrupted.

    Threaded werkzeug is enough for a handful of supervisors; each open live
    page holds one thread (and one Redis connection) for its event stream.
    """
    from web import create_app  # the app module imports this one

    setup_logging(settings, "web")
    app = create_app(settings=settings)
    server = make_panel_server(settings, app)
    scheme = "https" if settings.web_tls else "http"
    log.info("panel on %s://%s:%s/", scheme, settings.bind_address, server.server_port)
    try:
        server.serve_forever()  # returns on KeyboardInterrupt; SIGTERM ends the process
    finally:
        app.extensions["centrala"].close()
