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
  language; ``None`` → "—"), ``local_date``, ``time_tag`` (the same inside a ``<time>``
  element whose ``datetime`` and tooltip keep the exact UTC moment, for support staff
  comparing with logs), ``duration`` (seconds → "1 min 05 s") and ``label`` (an internal
  value such as ``on_call`` → its human label, :mod:`web.labels`).
- Before login there is no user: ``?lang=en`` (the login page's PL/EN switch) picks the
  language and keeps it in a cookie; else the browser's ``Accept-Language``.
- Pages whose JavaScript writes text or times render :func:`client_config` as JSON in a
  ``data-i18n`` attribute: the locale, the tenant's zone and the translated strings the
  script needs (``Intl.DateTimeFormat`` does the formatting in the browser).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from babel.dates import get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import (
    Babel,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
    gettext,
)
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from web import labels

LOCALES = ("pl", "en")
DEFAULT_LOCALE = "pl"
DEFAULT_TIME_ZONE = "Europe/Warsaw"
SOURCE_DIR = Path(__file__).parent / "translations"
EMPTY = "—"
LANG_COOKIE = "centrala_lang"
LANG_COOKIE_AGE_S = 365 * 24 * 3600


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
    app.jinja_env.filters["time_tag"] = time_tag
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.globals["client_config"] = client_config
    app.jinja_env.globals["user_names"] = labels.user_names
    app.jinja_env.globals["zone_name"] = zone_name
    app.jinja_env.globals["endpoint_names"] = labels.endpoint_names
    app.after_request(_remember_language)
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
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _remember_language(resp: Response) -> Response:
    """``?lang=`` (the login page's switch) is kept for the next visits of this browser."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        resp.set_cookie(LANG_COOKIE, str(chosen), max_age=LANG_COOKIE_AGE_S, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return resp


def select_time_zone() -> str:
    user = g.get("centrala_user")
    return str(user.time_zone) if user is not None else DEFAULT_TIME_ZONE


def local_time(value: datetime | str | float | None, fmt: str = "short") -> str:
    """A stored (UTC) time as the tenant reads it: its zone, its language's format (an ISO
    string or epoch seconds as well, as Redis mirrors keep them)."""
    moment = _moment(value)
    return EMPTY if moment is None else str(format_datetime(moment, fmt))


def zone_name() -> str:
    """The tenant's zone as a column header names it: "UTC", "CET", ..."""
    zone = str(get_timezone() or DEFAULT_TIME_ZONE)
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return str(get_timezone_name(zone, width="short", locale=get_locale()))


def _moment(value: datetime | str | float | None) -> datetime | None:
    """A stored moment as an aware UTC datetime: a datetime (naive ones are UTC), an ISO
    string (Redis mirrors) or epoch seconds; None for nothing or something unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_tag(value: datetime | str | float | None, fmt: str = "short") -> Markup:
    """``<time datetime="…Z" title="2025-03-01 08:00:00 UTC">1.03.2025, 09:00</time>``."""
    moment = _moment(value)
    if moment is None:
        return Markup(EMPTY if value in (None, "") else escape(str(value)))
    utc = moment.strftime("%Y-%m-%d %H:%M:%S")
    return Markup('<time datetime="{}" title="{} UTC">{}</time>').format(
        moment.isoformat(timespec="seconds").replace("+00:00", "Z"), utc,
        format_datetime(moment, fmt))


def decimal(value: float | None, places: int = 1) -> str:
    """A number written as the page's language writes it ("1,5" in Polish), ``places``
    decimals at most."""
    if value is None:
        return ""
    return format_decimal(round(value, places), format="#,##0." + "#" * places if places else "#,##0")


def duration(value: float | None) -> str:
    """Seconds as people say them: "45 s", "1 min 05 s", "1 h 02 min"."""
    if value is None:
        return ""
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("%(h)d h %(m)02d min", h=hours, m=minutes)
    if minutes:
        return gettext("%(m)d min %(s)02d s", m=minutes, s=seconds)
    return gettext("%(s)d s", s=seconds)


def client_config() -> dict[str, object]:
    """What the page scripts (``acd.js``, ``live.js``) need to write text and times: the
    locale, the tenant's zone, and their strings translated (``data-i18n='{{ client_config()
    | tojson }}'``)."""
    return {
        "locale": str(get_locale() or DEFAULT_LOCALE),
        "zone": str(get_timezone() or DEFAULT_TIME_ZONE),
        "labels": {kind: {k: str(v) for k, v in labels.KINDS[kind].items()}
                   for kind in ("agent_status", "call_phase", "direction")},
        "t": {
            "reachable": gettext("reachable"),
            "unreachable": gettext("unreachable"),
            "agents": gettext("%(n)s agents", n="{n}"),
            "as_of": gettext("as of %(time)s", time="{time}"),
            "no_stats": gettext("no statistics published yet"),
            "unavailable": gettext("live data unavailable, retrying"),
            "in_progress": gettext("%(n)s in progress", n="{n}"),
            "no_calls": gettext("No calls in progress."),
        },
    }


def local_date(value: date | datetime | None, fmt: str = "medium") -> str:
    return EMPTY if value is None else str(format_date(value, fmt))

