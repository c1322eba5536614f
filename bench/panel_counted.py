"""The panel as ``python -m web`` serves it, plus a count of its SQL statements written
every 0.2 s to the file named by ``WALLBOARD_BENCH_QUERIES`` as ``total auth`` (for
``bench/panel_load.py``: database queries per second seen from inside the panel, without
changing the panel; ``auth`` are those reading API tokens or panel sessions, the
per-viewer re-checks of a stream's credentials)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from controlplane.config import load_settings
from controlplane.logs import setup_logging
from web import create_app
from web.server import make_panel_server


def main() -> None:
    settings = load_settings()
    setup_logging(settings, "web")
    app = create_app(settings=settings)
    if "WALLBOARD_REFRESH_S" in os.environ:  # the bench may try another refresh period
        app.config["WALLBOARD_REFRESH_S"] = float(os.environ["WALLBOARD_REFRESH_S"])
    out = Path(os.environ["WALLBOARD_BENCH_QUERIES"])
    count = [0, 0]

    def counted(*a: Any) -> None:
        count[0] += 1
        if "api_token" in a[2] or "panel_session" in a[2]:
            count[1] += 1

    event.listen(app.extensions["centrala"].engine, "before_cursor_execute", counted)

    def writer() -> None:
        while True:
            tmp = out.with_suffix(".tmp")
            tmp.write_text(f"{count[0]} {count[1]}")
            tmp.replace(out)
            time.sleep(0.2)

    threading.Thread(target=writer, daemon=True).start()
    make_panel_server(settings, app).serve_forever()


if __name__ == "__main__":
    main()
