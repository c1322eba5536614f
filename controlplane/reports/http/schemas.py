"""Request schemas of ``/reports`` and ``/api/v1/reports`` (and the API docs).

A report's query: ``from`` and ``to`` are local days (the tenant's zone, ``YYYY-MM-DD``,
inclusive; none: today), ``interval`` hour/day/week/month, ``queues`` and ``agents``
comma-separated ids (none: all), ``campaign`` one id. The page's form may also send a
multi-select as repeated ``queues``/``agents`` parameters: the page joins them first.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from controlplane.reports.filters import MAX_DAYS, REPORTS
from web.schemas.common import MAX_INT, Body, Id, Query

ReportName = Literal[REPORTS]  # type: ignore[valid-type]
IntervalName = Literal["hour", "day", "week", "month"]
FileFormat = Literal["csv", "csv_semicolon", "xlsx"]
MAX_IDS = 100


def _ids(value: str) -> str:
    parts = value.split(",")
    if len(parts) > MAX_IDS:
        raise ValueError(f"at most {MAX_IDS} ids")
    for p in parts:
        if not p.isdigit() or not 1 <= int(p) <= MAX_INT:
            raise ValueError("must be ids separated by commas (3,8,12)")
    return value


# Days a report may name: the epoch on, and far from the calendar's end (a range's default
# start or end is computed from the one given, in days either side).
Day = Annotated[date, Field(ge=date(1970, 1, 8), le=date(2999, 12, 24))]
IdList = Annotated[str, Field(max_length=1200, pattern=r"^[0-9]+(,[0-9]+)*$"),
                   AfterValidator(_ids)]


def id_tuple(value: str | None) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(p) for p in value.split(","))) if value else ()


class ReportQuery(Query):
    """Which days, cut how, narrowed to which queues, agents or campaign."""

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    interval: IntervalName = "day"
    queues: IdList | None = None
    agents: IdList | None = None
    campaign: Id | None = None

    @field_validator("to")
    @classmethod
    def _range(cls, to: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("from_")
        if to is not None and first is not None:
            if to < first:
                raise ValueError("must not be before 'from'")
            if (to - first).days + 1 > MAX_DAYS:
                raise ValueError(f"a report covers at most {MAX_DAYS} days")
        return to


class ExportQuery(ReportQuery):
    """A report's query and the file to write: ``csv`` (commas), ``csv_semicolon``
    (semicolons and decimal commas, as Polish Excel opens it) or ``xlsx``."""

    format: FileFormat = "csv"


class ExportBody(Body):
    """A long report to build in the background: its name, its query (the parameters of
    ``GET /api/v1/reports/{name}``, as strings) and the file format."""

    report: ReportName
    format: FileFormat = "xlsx"
    query: Annotated[dict[str, Annotated[str, Field(max_length=1200)]],
                     Field(max_length=8)] = Field(default_factory=dict)
