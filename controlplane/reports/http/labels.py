"""The reports' words: report titles, column headers, and the labels of dynamic columns
(a break reason, an outcome, an AMD verdict, a wait bucket), in the user's language.

:func:`headers` returns every header a report can have for a tenant (its break reasons
included), so an export job, which has no request and no language of its own, is handed
them when it is queued and prints the words the user read on the page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString, gettext, lazy_gettext

from controlplane.models.campaigns import OUTCOMES
from controlplane.reports.calls import WAIT_KEYS
from web.labels import label

_ = lazy_gettext

TITLES: dict[str, LazyString] = {
    "calls_by_queue": _("Calls per queue"),
    "calls_by_agent": _("Calls per agent"),
    "agent_time": _("Agent time per status"),
    "abandons": _("Abandoned calls"),
    "dispositions": _("Dispositions"),
    "campaigns": _("Campaign results"),
    "hlr": _("HLR results"),
}

COLUMNS: dict[str, LazyString] = {
    "period": _("Period"),
    "agent": _("Agent id"),
    "agent_name": _("Agent"),
    "queue": _("Queue id"),
    "queue_name": _("Queue"),
    "campaign": _("Campaign id"),
    "campaign_name": _("Campaign"),
    "source": _("Source id"),
    "source_name": _("Source"),
    "code": _("Code"),
    "label": _("Disposition"),
    "count": _("Count"),
    "status": _("Status"),
    "provider": _("Provider"),
    "entered": _("Offered"),
    "answered": _("Answered"),
    "answered_in_threshold": _("Answered in time"),
    "abandoned": _("Abandoned"),
    "overflowed": _("Overflowed"),
    "service_level_pct": _("Service level (%)"),
    "abandon_rate_pct": _("Abandon rate (%)"),
    "avg_speed_of_answer_s": _("Average wait"),
    "avg_handle_s": _("Average handle time"),
    "offered": _("Offered"),
    "missed": _("Missed"),
    "avg_wait_s": _("Average wait"),
    "handle_s": _("Handle time"),
    "max_wait_s": _("Longest wait"),
    "ready": _("Ready"),
    "reserved": _("Reserved"),
    "ringing": _("Ringing"),
    "on_call": _("On a call"),
    "wrap_up": _("Wrap-up"),
    "logged_in": _("Logged in"),
    "logged_out": _("Logged out"),
    "attempts": _("Attempts"),
    "connects": _("Connected to an agent"),
    "disposed": _("With a disposition"),
    "talk_s": _("Talk time"),
    "agent_hours": _("Agent-hours"),
    "talk_min_per_agent_hour": _("Talk minutes per agent-hour"),
}

WAITS: dict[str, LazyString] = dict(zip(WAIT_KEYS, (
    _("Waited 0–10 s"), _("Waited 10–30 s"), _("Waited 30–60 s"), _("Waited 1–2 min"),
    _("Waited over 2 min")), strict=True))
AMD = {"human": _("AMD: person"), "machine": _("AMD: machine"), "notsure": _("AMD: not sure")}
HLR = {"active": _("Active"), "inactive": _("Inactive"), "unknown": _("Unknown"),
       "error": _("Look-up failed")}
INTERVALS = {"hour": _("Hour"), "day": _("Day"), "week": _("Week"), "month": _("Month")}
SYSTEM_BREAKS = {"missed": _("missed calls"), "login": _("after logging in")}


def header(key: str, breaks: dict[str, str]) -> str:
    """The header of column ``key`` (``breaks``: the tenant's break code → label)."""
    if key in COLUMNS:
        return str(COLUMNS[key])
    family, _sep, value = key.partition(":")
    if family == "break":
        name = breaks.get(value) or (str(SYSTEM_BREAKS[value]) if value in SYSTEM_BREAKS
                                     else value or gettext("no reason"))
        return gettext("Break: %(reason)s", reason=name)
    if family == "outcome":
        return str(label(value, "outcome"))
    if family == "amd":
        return str(AMD.get(value, value))
    if family == "wait":
        return str(WAITS.get(key, key))
    return key


def headers(breaks: dict[str, str]) -> dict[str, str]:
    """Every header any report may print for a tenant with these break reasons."""
    keys = [*COLUMNS, *(f"break:{b}" for b in (*breaks, *SYSTEM_BREAKS, "")),
            *(f"outcome:{o}" for o in OUTCOMES), *(f"amd:{a}" for a in AMD), *WAIT_KEYS]
    return {k: header(k, breaks) for k in keys}


def value_label(report: str, key: str, value: Any) -> str | None:
    """A human label for an internal value shown in a text column (None: show it as is)."""
    if key == "status" and report == "hlr":
        return str(HLR.get(str(value), value))
    if key == "source_name" and value == "inbound":
        return gettext("Inbound calls")
    return None

