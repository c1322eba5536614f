"""The panel in Polish and English, with every time shown in the tenant's zone (flask-babel).

Theory of operation:
- Templates mark text with ``{{ _('Live calls') }}`` and Python with
  :func:`flask_babel.gettext` (or ``lazy_gettext`` at import time). The English text is
  the message id; ``web/translations/pl/LC_MESSAGES/messages.po`` holds the Polish.
  ``make messages`` extracts new ids into it (``babel.cfg``); a translator fills them in.
- The catalogs are compiled (.po → .mo) when the app starts, into the runtime directory
  (never into the source tree, which may be read-only), and only when the .po changed.
- The language of a request: the logged-in user's choice, else their tenant's
  (``tenant.locale``, Polish by default), else the browser's ``Accept-Language``
  among :data:`LOCALES`, else Polish. The zone: the tenant's ``time_zone``.
- Jinja filters: ``local_time`` (a UTC datetime → the tenant's zone, formatted for the
  language; ``None`` → "—"), ``local_date``, and ``label`` (an internal value such as
  ``on_call`` → its human label, :mod:`web.labels`).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import Babel, format_date, format_datetime, get_locale

from web import labels

LOCALES = ("pl", "en")
DEFAULT_LOCALE = "pl"
DEFAULT_TIME_ZONE = "Europe/Warsaw"
SOURCE_DIR = Path(__file__).parent / "translations"
EMPTY = "—"


def install(app: Flask, runtime_dir: Path) -> None:
    """Compile the catalogs into ``runtime_dir/i18n`` and attach flask-babel to ``app``."""
    compiled = compile_catalogs(SOURCE_DIR, runtime_dir / "i18n")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_DEFAULT_TIMEZONE"] = DEFAULT_TIME_ZONE
    Babel(app, locale_selector=select_locale, timezone_selector=select_time_zone)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["label"] = labels.label
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or DEFAULT_LOCALE)
    app.jinja_env.globals["locales"] = LOCALES


def compile_catalogs(source: Path, target: Path) -> Path:
    """Every ``<locale>/LC_MESSAGES/*.po`` under ``source`` as a .mo under ``target``
    (rewritten only when the .po is newer; written to a temporary name, then renamed,
    so a panel starting beside another never reads half a file)."""
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)
    return target


def select_locale() -> str:
    user = g.get("centrala_user")
    if user is not None and user.locale in LOCALES:
        return str(user.locale)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def select_time_zone() -> str:
    user = g.get("centrala_user")
    return str(user.time_zone) if user is not None else DEFAULT_TIME_ZONE


def local_time(value: datetime | None, fmt: str = "short") -> str:
    """A stored (UTC) time as the tenant reads it: its zone, its language's format."""
    return EMPTY if value is None else str(format_datetime(value, fmt))


def local_date(value: date | datetime | None, fmt: str = "medium") -> str:
    return EMPTY if value is None else str(format_date(value, fmt))

