"""``/sla``: the tenant's service level this month, for admins (read-only).

The current billing period (the tenant's calendar month, so far): the level and its
guarantee, availability by [(A − B) − C] / (A − C) with A, B and C in service hours,
downtime per critical function, the credit the period would earn and the penalties so
far; then the latest incidents with their reaction and repair deadlines. Everything is
computed by :mod:`controlplane.sla.service` (the same statement ``centrala sla report``
prints); a tenant without SLA settings sees a sentence saying so, not an error.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import format_currency, format_date, format_decimal, gettext, lazy_gettext
from sqlalchemy import select

from controlplane.models import Role, Tenant
from controlplane.sla import contract, service, store, terms
from controlplane.sla.calendar import Level
from controlplane.sla.exceptions import SlaNotConfigured
from controlplane.sla.http.schemas import PageQuery
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services
from web.session_cookie import clock
from web.validation import validated

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


def chart(statement: terms.Statement, days_in_month: int) -> dict[str, Any]:
    """The month's availability per day as SVG bars (no script: the page prints and reads
    without JavaScript). The axis starts one point under the worst day (at most 99 %), so
    a day at 99.9 % is visibly short of the top; red under the level's guarantee. Days
    still to come have a label and no bar."""
    served = [a for _, a in statement.days if a.service > 0]
    worst = min((float(terms.as_percent(a.ratio)) for a in served), default=100.0)
    floor = max(0, min(99, int(worst) - 1 if worst < 100 else 99))
    guarantee = terms.GUARANTEE[statement.level]
    bars = []
    for i in range(days_in_month):
        x = i * 20 + 3
        if i >= len(statement.days):
            bars.append({"x": x, "day": i + 1, "served": False, "future": True, "bad": False})
            continue
        day, a = statement.days[i]
        pct = float(terms.as_percent(a.ratio))
        height = 0.0 if a.service == 0 else max(2.0, (pct - floor) / (100 - floor) * 100)
        bars.append({"x": x, "y": 110 - height, "h": height, "day": day.day,
                     "date": format_date(day, "d MMMM"), "served": a.service > 0,
                     "future": False, "percent": format_decimal(pct, format="0.000"),
                     "down": duration(a.down), "bad": a.ratio < guarantee})
    return {"bars": bars, "width": days_in_month * 20, "floor": floor}


def _month(label: str, step: int) -> str:
    year, month = service.parse_period(label)
    index = year * 12 + month - 1 + step
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@bp.get("/sla")
@login_required(Role.ADMIN, Role.OPERATOR)
@validated(query=PageQuery)
def page(query: PageQuery) -> Any:
    """The tenant's month (``?period=YYYY-MM``, default the current one); the operator
    names the tenant (``?tenant=DOMAIN``, from the tenant's SLA terms page)."""
    me = current_user()
    now = clock(current_app)  # injectable: the tests move it
    with services().sessions() as s:
        if me.role is Role.OPERATOR:
            if not query.tenant:
                return redirect(url_for("operator.tenants"))
            row = s.scalar(select(Tenant).where(Tenant.domain == query.tenant))
            if row is None:
                raise NotFound(f"no tenant {query.tenant!r}")
            domain, tenant_id, zone = row.domain, row.id, row.time_zone
        else:
            domain, tenant_id, zone = me.tenant_domain, me.tenant_id, me.time_zone
        local = now.astimezone(ZoneInfo(zone))
        current = f"{local.year:04d}-{local.month:02d}"
        label = query.period or current
        if label > current:
            label = current  # the future has no statement yet
        year, month = service.parse_period(label)
        try:
            tenant, statement = service.report(s, domain, label, now)
        except SlaNotConfigured:
            tenant, statement = None, None
        incidents: list[dict[str, Any]] = []
        if statement is not None:
            for row_, facts in store.recent_incidents(s, tenant_id, now):
                clocks = terms.clocks(statement.level, facts, zone)
                incidents.append({"row": row_, "facts": facts, "clocks": clocks,
                                  "late": facts.repaired_at is None and now > clocks.repair_due})
        claims = contract.claims(s, tenant_id)
        s.expunge_all()
    # The last closed month can be claimed for 30 days after its end, once, by an admin.
    last = _month(current, -1)
    opens, closes = contract.claim_window(last, zone)
    claimable = (me.role is Role.ADMIN and statement is not None and opens <= now <= closes
                 and all(c.period != last for c in claims))
    first_day = date(year, month, 1)
    return render_template(
        "sla.html", statement=statement, month=format_date(first_day, "LLLL yyyy"),
        period=label, previous=_month(label, -1), next=_month(label, 1) if label < current
        else None, operator_view=domain if me.role is Role.OPERATOR else None,
        claims=claims, claimable=last if claimable else None, claim_closes=closes,
        chart=chart(statement, monthrange(year, month)[1]) if statement is not None else None,
        incidents=incidents, levels=LEVELS, functions=FUNCTIONS, priorities=PRIORITIES,
        statuses=STATUSES, duration=duration, money=money,
        percent=lambda v: format_decimal(v, format="0.000"),
        guarantee=lambda lv: format_decimal(terms.as_percent(terms.GUARANTEE[lv]), format="0.###"),
        tenant=tenant)
