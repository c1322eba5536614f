"""``/sla``: the tenant's service level this month, for admins (read-only).

The current billing period (the tenant's calendar month, so far): the level and its
guarantee, availability by [(A − B) − C] / (A − C) with A, B and C in service hours,
downtime per critical function, the credit the period would earn and the penalties so
far; then the latest incidents with their reaction and repair deadlines. Everything is
computed by :mod:`controlplane.sla.service` (the same statement ``centrala sla report``
prints); a tenant without SLA settings sees a sentence saying so, not an error.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from flask_babel import format_currency, format_date, format_decimal, gettext, lazy_gettext

from controlplane.models import Role
from controlplane.sla import contract, service, store, terms
from controlplane.sla.calendar import Level
from controlplane.sla.exceptions import SlaNotConfigured
from web.auth import current_user, login_required
from web.services import services
from web.session_cookie import clock

bp = Blueprint("sla", __name__)

_ = lazy_gettext
LEVELS = {Level.STANDARD: _("Standard (10 h × 5 days)"),
          Level.PROGRES: _("Progres (16 h × 5 days)"),
          Level.PROGRES_PLUS: _("Progres+ (16 h × 7 days)"),
          Level.PREMIUM: _("Premium (24 h × 7 days)")}
FUNCTIONS = {"outbound_call": _("Outbound calls"), "inbound_call": _("Inbound calls"),
             "ivr": _("IVR answering"), "login": _("Panel login"),
             "agent_ready": _("Agents going ready"), "queue_routing": _("Call queueing and routing"),
             "chat_routing": _("Chat queueing and routing")}
PRIORITIES = {"critical": _("Critical"), "high": _("High"), "medium": _("Medium"),
              "low": _("Low")}
STATUSES = {"open": _("Reported"), "reacted": _("Qualified"),
            "waiting": _("Waiting for the customer"), "repaired": _("Repaired")}


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return gettext("%(h)d h %(m)02d min", h=hours, m=rest // 60)


def money(amount: Any) -> str:
    return str(format_currency(amount, "PLN"))


def chart(statement: terms.Statement) -> dict[str, Any]:
    """The month's availability per day as SVG bars (no script: the page prints and reads
    without JavaScript). The axis starts one point under the worst day (at most 99 %), so
    a day at 99.9 % is visibly short of the top; red under the level's guarantee."""
    served = [a for _, a in statement.days if a.service > 0]
    worst = min((float(terms.as_percent(a.ratio)) for a in served), default=100.0)
    floor = max(0, min(99, int(worst) - 1 if worst < 100 else 99))
    guarantee = terms.GUARANTEE[statement.level]
    bars = []
    for i, (day, a) in enumerate(statement.days):
        pct = float(terms.as_percent(a.ratio))
        height = 0.0 if a.service == 0 else max(2.0, (pct - floor) / (100 - floor) * 100)
        bars.append({"x": i * 20 + 3, "y": 110 - height, "h": height, "day": day.day,
                     "date": format_date(day, "d MMMM"), "served": a.service > 0,
                     "percent": format_decimal(pct, format="0.000"),
                     "down": duration(a.down), "bad": a.ratio < guarantee})
    return {"bars": bars, "width": max(1, len(bars)) * 20, "floor": floor}


@bp.get("/sla")
@login_required(Role.ADMIN)
def page() -> Any:
    me = current_user()
    now = clock(current_app)  # injectable: the tests move it
    local = now.astimezone(ZoneInfo(me.time_zone))
    label = f"{local.year:04d}-{local.month:02d}"
    with services().sessions() as s:
        try:
            tenant, statement = service.report(s, me.tenant_domain, label, now)
        except SlaNotConfigured:
            tenant, statement = None, None
        incidents: list[dict[str, Any]] = []
        if statement is not None:
            for row, facts in store.recent_incidents(s, me.tenant_id, now):
                clocks = terms.clocks(statement.level, facts, me.time_zone)
                incidents.append({"row": row, "facts": facts, "clocks": clocks,
                                  "late": facts.repaired_at is None and now > clocks.repair_due})
        claims = contract.claims(s, me.tenant_id)
        s.expunge_all()
    # The last closed month can be claimed for 30 days after its end, once.
    last = f"{local.year - (local.month == 1):04d}-{(local.month - 2) % 12 + 1:02d}"
    opens, closes = contract.claim_window(last, me.time_zone)
    claimable = (statement is not None and opens <= now <= closes
                 and all(c.period != last for c in claims))
    return render_template(
        "sla.html", statement=statement, month=format_date(local.date(), "LLLL yyyy"),
        claims=claims, claimable=last if claimable else None, claim_closes=closes,
        chart=chart(statement) if statement is not None else None,
        incidents=incidents, levels=LEVELS, functions=FUNCTIONS, priorities=PRIORITIES,
        statuses=STATUSES, duration=duration, money=money,
        percent=lambda v: format_decimal(v, format="0.000"),
        guarantee=lambda lv: format_decimal(terms.as_percent(terms.GUARANTEE[lv]), format="0.###"),
        tenant=tenant)
