"""What the reports' page and API share: a validated query as filters in the tenant's zone,
and one report built for the logged-in user's tenant."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app

from controlplane.reports import service
from controlplane.reports.filters import REPORTS, Filters
from controlplane.reports.http.schemas import ReportQuery, id_tuple
from controlplane.reports.periods import Interval, zone_of
from web.auth import current_user
from web.errors import NotFound
from web.services import services
from web.session_cookie import clock


def check_name(name: str) -> str:
    if name not in REPORTS:
        raise NotFound(f"no report {name!r} (there are: {', '.join(REPORTS)})")
    return name


def now() -> datetime:
    return clock(current_app)  # injectable: the tests move it


def today() -> date:
    return now().astimezone(zone_of(current_user().time_zone)).date()


def filters(query: ReportQuery, default_days: int = 1) -> Filters:
    """The query's filters; no ``from``: the last ``default_days`` days up to ``to`` (or
    today), in the tenant's zone."""
    last = query.to or (query.from_ + timedelta(days=default_days - 1)
                        if query.from_ else today())
    first = query.from_ or last - timedelta(days=default_days - 1)
    return Filters(first, last, Interval(query.interval), id_tuple(query.queues),
                   id_tuple(query.agents), query.campaign)


def build(name: str, f: Filters) -> service.Report:
    with services().sessions() as s:
        return service.run(s, current_user().tenant_id, name, f, now().timestamp())
