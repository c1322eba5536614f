"""Run the panel with werkzeug's threaded server (``centrala web``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from werkzeug.serving import run_simple

if TYPE_CHECKING:
    from controlplane.config import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Serve the panel on ``settings.bind_address:settings.web_port`` until interrupted.

    Threaded werkzeug is enough for a handful of supervisors; each open live
    page holds one thread (and one Redis connection) for its event stream.
    """
    from web import create_app  # the app module imports this one

    app = create_app(settings=settings)
    log.info("panel on http://%s:%s/", settings.bind_address, settings.web_port)
    try:
        run_simple(
            settings.bind_address,
            settings.web_port,
            app,
            threaded=True,
            use_reloader=False,
            use_debugger=False,
        )
    finally:
        app.extensions["centrala"].close()
