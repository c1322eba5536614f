"""A built report as people read it: headers, formatted cells and the chart's data.

The table hides the id columns (the page shows names; CSV, XLSX and the API keep both).
Periods are written in the tenant's zone and the user's language (an hour as its time, a
day as its date, a week by its first day, a month by name); durations as "1 h 02 min";
percentages with one decimal. :func:`chart` picks, per report, what to draw and sums the
rows for it; ``web/static/reports.js`` draws it with Chart.js.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask_babel import format_date, format_datetime, format_decimal, gettext

from controlplane.reports.calls import WAIT_KEYS
from controlplane.reports.http import labels
from controlplane.reports.service import Report
from controlplane.reports.tables import Column
from web.i18n import duration


def shown_columns(report: Report) -> list[Column]:
    return [c for c in report.columns if c.kind != "id"]


def headers(report: Report) -> dict[str, str]:
    return {c.key: labels.header(c.key, report.break_labels) for c in report.columns}


def period_label(report: Report, key: str) -> str:
    moment = datetime.fromisoformat(key)
    interval = report.filters.interval.value
    if interval == "hour":
        return str(format_datetime(moment, "d MMM, HH:mm", rebase=False))
    if interval == "week":
        return gettext("week of %(day)s", day=format_date(moment, "d MMM yyyy"))
    if interval == "month":
        return str(format_date(moment, "LLLL yyyy"))
    return str(format_date(moment, "EEE d MMM yyyy"))


def cell(report: Report, c: Column, value: Any) -> str:
    if value is None:
        return "–"
    if c.kind == "period":
        return period_label(report, str(value))
    if c.kind == "seconds":
        return duration(float(value))
    if c.kind == "pct":
        return str(format_decimal(value, format="0.0"))
    if c.kind == "number":
        return str(format_decimal(value, format="0.##"))
    if c.kind == "count":
        return str(format_decimal(value, format="#,##0"))
    named = labels.value_label(report.name, c.key, value)
    return named if named is not None else str(value)


def table(report: Report) -> dict[str, Any]:
    cols = shown_columns(report)
    heads = headers(report)
    return {
        "headers": [(heads[c.key], c.kind) for c in cols],
        "rows": [[(cell(report, c, r.get(c.key)), c.kind) for c in cols] for r in report.rows],
    }


def _sum_by(rows: list[dict[str, Any]], x: str, keys: list[str]) -> OrderedDict[str, dict[str, float]]:
    out: OrderedDict[str, dict[str, float]] = OrderedDict()
    for r in rows:
        acc = out.setdefault(str(r[x]), dict.fromkeys(keys, 0.0))
        for k in keys:
            acc[k] += float(r.get(k) or 0)
    return out


def chart(report: Report) -> dict[str, Any]:
    """``{"kind": "bar", "stacked": bool, "unit": …, "labels": [...], "series":
    [{"label", "data", "axis"?}]}`` for ``reports.js``."""
    heads = headers(report)
    rows = report.rows
    name = report.name
    x, unit, stacked = "period", "", False
    keys: list[str]
    if name == "agent_time":
        keys = [c.key for c in report.columns if c.kind == "seconds"
                and c.key not in ("logged_in", "logged_out")]
        unit, stacked = gettext("hours"), True
    elif name == "calls_by_queue":
        keys, stacked = ["answered", "abandoned", "overflowed"], True
    elif name == "calls_by_agent":
        x, keys = "agent_name", ["answered", "missed"]
    elif name == "abandons":
        keys, stacked = list(WAIT_KEYS), True
    elif name == "dispositions":
        x, keys = "label", ["count"]
    elif name == "campaigns":
        keys = ["attempts", "connects"]
    else:
        x, keys = "status", ["count"]
    sums = _sum_by(rows, x, keys)
    if x == "period":  # every interval of the range on the axis, the quiet ones at zero
        sums = OrderedDict((b.key, sums.get(b.key, dict.fromkeys(keys, 0.0)))
                           for b in report.buckets.items)
    scale = 3600.0 if name == "agent_time" else 1.0
    series: list[dict[str, Any]] = [{"label": heads.get(k, k),
               "data": [round(v[k] / scale, 2) for v in sums.values()]} for k in keys]
    if name == "calls_by_queue" and len({r["queue"] for r in rows}) == 1:
        # one queue: its service level as a line (queues' levels do not add up)
        level = {str(r["period"]): r["service_level_pct"] for r in rows}
        series.append({"label": heads["service_level_pct"], "axis": "pct", "line": True,
                       "data": [level.get(p) for p in sums]})
    if x == "period":
        xs = [period_label(report, p) for p in sums]
    else:
        c = Column(x, "text")
        xs = [cell(report, c, p) for p in sums]
    return {"kind": "bar", "stacked": stacked, "unit": unit, "labels": xs, "series": series}
