"""A campaign's settings, created and changed from the panel and the API (one rule set).

Theory of operation: the page and ``/api/v1/campaigns`` hand :func:`save_campaign` the
same structured mapping (the page builds it from its flat form, see
:func:`from_form`): scalar settings plus ``dialing_order`` (``fresh``/``private``/
``system`` shares, ``recontact_order``, ``private_grace_s``) and ``retry_rules`` (one
``{max_attempts, interval_s}`` per retried outcome). A partial mapping changes only what
it names (the stored values fill the rest). Every problem is collected as a
:class:`FieldIssue` named like the JSON body (``retry_rules.busy.interval_s``), so the
form shows it next to its input and the API returns its JSON pointer; nothing is written
unless all pass. The dialling order, the retry rules and the calling window are checked
by the dialer's own types (:class:`~controlplane.dialer.selection.Strategy`,
:class:`~controlplane.dialer.retry.RetryRules`,
:class:`~controlplane.dialer.records.CallingWindow`), so what is saved is what the dialer
can run; the fixed caller ID is normalised to E.164 by :mod:`.numbers`.

"Delete" (:func:`remove_campaign`) deletes a campaign that was never dialled; one with
attempts is archived instead (``archived_at``, status ``finished``): the compliance log
keeps its campaign.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.campaigns import numbers
from controlplane.campaigns.exceptions import CampaignError, NotFound
from controlplane.dialer.exceptions import DialerRecordsError
from controlplane.dialer.records import CallingWindow, Outcome, RetryRule
from controlplane.dialer.retry import RetryRules
from controlplane.dialer.selection import RecontactOrder, Strategy
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    CALLER_ID_MODES,
    DEFAULT_DIALING_ORDER,
    DEFAULT_RETRY_RULES,
    MODES,
    RECONTACT_ORDERS,
    REGULATORS,
    RETRY_OUTCOMES,
    Campaign,
    DialAttempt,
)

NAME_MAX = 100
SHARES = ("fresh", "private", "system")
MAX_ABANDON = 0.03  # the regulators' cap (the table's check)
MIN_RING_S = 15.0  # US TSR: ring at least 15 s (the table's check)
MAX_INT = 2**31 - 1
SCALARS = ("name", "mode", "queue_id", "default_region", "default_timezone",
           "caller_id_mode", "fixed_caller_id", "window_start", "window_end", "window_days",
           "max_attempts", "ring_timeout_s", "target_abandon_rate", "regulator",
           "preview_batch_size")


def get_campaign(s: Session, tenant_id: int, campaign_id: int) -> Campaign:
    """The tenant's campaign (another tenant's is "not found" too)."""
    c = s.get(Campaign, campaign_id)
    if c is None or c.tenant_id != tenant_id:
        raise NotFound(_("no campaign %(id)s in your tenant", id=campaign_id))
    return c


def defaults() -> dict[str, Any]:
    """A new campaign's values (the table's defaults), as :func:`campaign_json` shows them."""
    return {"name": "", "mode": "progressive", "queue_id": None, "default_region": "PL",
            "default_timezone": "Europe/Warsaw", "caller_id_mode": "pool",
            "fixed_caller_id": None, "window_start": "09:00", "window_end": "20:00",
            "window_days": [1, 2, 3, 4, 5], "max_attempts": 6, "ring_timeout_s": 20.0,
            "target_abandon_rate": 0.03, "regulator": "uk", "preview_batch_size": 10,
            "dialing_order": dict(DEFAULT_DIALING_ORDER),
            "retry_rules": {k: dict(v) for k, v in DEFAULT_RETRY_RULES.items()}}


def campaign_json(c: Campaign) -> dict[str, Any]:
    """Every setting of ``c`` (times as ``HH:MM``), its status and archive time."""
    return {"id": c.id, "name": c.name, "kind": c.kind, "mode": c.mode, "status": c.status,
            "queue_id": c.queue_id, "default_region": c.default_region,
            "default_timezone": c.default_timezone, "caller_id_mode": c.caller_id_mode,
            "fixed_caller_id": c.fixed_caller_id,
            "window_start": c.window_start.strftime("%H:%M"),
            "window_end": c.window_end.strftime("%H:%M"),
            "window_days": sorted(c.window_days), "max_attempts": c.max_attempts,
            "ring_timeout_s": c.ring_timeout_s, "target_abandon_rate": c.target_abandon_rate,
            "regulator": c.regulator, "preview_batch_size": c.preview_batch_size,
            "dialing_order": {**DEFAULT_DIALING_ORDER, **(c.dialing_order or {})},
            "retry_rules": {k: dict(v) for k, v in (c.retry_rules or {}).items()},
            "archived_at": c.archived_at.isoformat() if c.archived_at else None}


# ---- the page's flat form → the structured values ----

def from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The posted form (``dialing_order.fresh``, ``retry_rules.busy.interval_s``, the
    ``window_days`` boxes, the abandon rate in per cent) as :func:`save_campaign` takes it.
    Values stay text: the checks below name what is wrong."""
    out: dict[str, Any] = {k: form.get(k) for k in SCALARS if k not in ("window_days",)}
    out["window_days"] = form.get("window_days") or []
    pct = form.get("target_abandon_pct")
    out["target_abandon_rate"] = _pct(pct)
    out["dialing_order"] = {k: form.get(f"dialing_order.{k}")
                            for k in (*SHARES, "recontact_order", "private_grace_s")}
    rules: dict[str, Any] = {}
    for outcome in RETRY_OUTCOMES:
        if form.get(f"retry_rules.{outcome}.enabled"):
            rules[outcome] = {f: form.get(f"retry_rules.{outcome}.{f}")
                              for f in ("max_attempts", "interval_s")}
    out["retry_rules"] = rules
    return out


def _pct(raw: Any) -> Any:
    """Per cent (form) → fraction; text that is not a number is passed on to be named."""
    try:
        return float(str(raw).replace(",", ".")) / 100
    except (TypeError, ValueError):
        return raw


# ---- checks ----

class _Checker:
    """Collects the issues of one save; each reader returns the value or None."""

    def __init__(self) -> None:
        self.issues: list[FieldIssue] = []

    def fail(self, field: str, message: str) -> None:
        self.issues.append(FieldIssue(field, message))

    def number(self, field: str, raw: Any, *, integer: bool, low: float, high: float,
               blank_ok: bool = False) -> Any:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if not blank_ok:
                self.fail(field, _("required"))
            return None
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(str(raw).replace(",", ".")) if isinstance(raw, str) else float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            if integer and value != int(value):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            self.fail(field, _("must be a whole number") if integer else _("must be a number"))
            return None
        if not low <= value <= high:
            self.fail(field, _("must be from %(low)s to %(high)s", low=_num(low), high=_num(high)))
            return None
        return int(value) if integer else value

    def choice(self, field: str, raw: Any, allowed: tuple[str, ...]) -> str | None:
        if raw not in allowed:
            self.fail(field, _("must be one of %(values)s", values=", ".join(allowed)))
            return None
        return str(raw)

    def clock(self, field: str, raw: Any) -> time | None:
        try:
            value = time.fromisoformat(str(raw).strip())
        except ValueError:
            self.fail(field, _("a time of day, e.g. 09:00"))
            return None
        return value.replace(tzinfo=None)


def _num(v: float) -> str:
    return str(int(v)) if v == int(v) else str(v)


def _merged(c: Campaign | None, values: dict[str, Any]) -> dict[str, Any]:
    base = campaign_json(c) if c is not None else defaults()
    out = {**base, **{k: v for k, v in values.items() if k not in ("dialing_order",
                                                                     "retry_rules")}}
    if "dialing_order" in values:  # a partial order changes only what it names
        out["dialing_order"] = {**base["dialing_order"], **(values["dialing_order"] or {})}
    if "retry_rules" in values:  # the rules are replaced as a whole (a missing one: no retry)
        out["retry_rules"] = values["retry_rules"] or {}
    return out


def _order(ck: _Checker, raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        ck.fail("dialing_order", _("must be an object"))
        return None
    shares = {k: ck.number(f"dialing_order.{k}", raw.get(k), integer=True, low=0, high=100)
              for k in SHARES}
    order = ck.choice("dialing_order.recontact_order", raw.get("recontact_order"),
                      RECONTACT_ORDERS)
    grace = ck.number("dialing_order.private_grace_s", raw.get("private_grace_s"),
                      integer=False, low=0, high=1e9, blank_ok=True)
    if None in shares.values() or order is None:
        return None
    try:
        Strategy(fresh=shares["fresh"], private=shares["private"], system=shares["system"],
                 recontact_order=RecontactOrder(order), private_grace_s=grace)
    except DialerRecordsError:
        ck.fail("dialing_order.fresh", _("the shares of new records, private and system "
                                         "recontacts must add up to 100"))
        return None
    return {**shares, "recontact_order": order, "private_grace_s": grace}


def _rules(ck: _Checker, raw: Any, max_attempts: int | None) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        ck.fail("retry_rules", _("must be an object"))
        return None
    out: dict[str, Any] = {}
    for outcome, rule in raw.items():
        field = f"retry_rules.{outcome}"
        if outcome not in RETRY_OUTCOMES:
            ck.fail(field, _("no retry rule for this outcome (one of %(values)s)",
                             values=", ".join(RETRY_OUTCOMES)))
            continue
        if not isinstance(rule, dict):
            ck.fail(field, _("must be an object"))
            continue
        n = ck.number(f"{field}.max_attempts", rule.get("max_attempts"), integer=True,
                      low=0, high=100)
        gap = ck.number(f"{field}.interval_s", rule.get("interval_s"), integer=True,
                        low=0, high=365 * 86400)
        if n is not None and gap is not None:
            out[outcome] = {"max_attempts": n, "interval_s": gap}
    if max_attempts is None or len(out) != len(raw):
        return None
    try:  # the dialer's own rule set: what is saved is what it runs
        RetryRules(max_attempts, {Outcome(k): RetryRule(v["max_attempts"], v["interval_s"])
                                  for k, v in out.items()})
    except DialerRecordsError as err:
        ck.fail("retry_rules", str(err))
        return None
    return out


def _check(s: Session, tenant_id: int, c: Campaign | None, v: dict[str, Any]) -> dict[str, Any]:
    ck = _Checker()
    out: dict[str, Any] = {}
    name = str(v.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        ck.fail("name", _("1 to %(n)s characters", n=NAME_MAX))
    elif s.scalar(select(Campaign.id).where(Campaign.tenant_id == tenant_id,
                                             Campaign.name == name,
                                             Campaign.id != (c.id if c else -1))):
        ck.fail("name", _("another campaign is called %(name)s", name=name))
    out["name"] = name
    out["mode"] = ck.choice("mode", v.get("mode"), MODES)
    queue_id = ck.number("queue_id", v.get("queue_id"), integer=True, low=1, high=MAX_INT,
                         blank_ok=True)
    if queue_id is not None:
        q = s.get(Queue, queue_id)
        if q is None or q.tenant_id != tenant_id:
            ck.fail("queue_id", _("no queue %(id)s in your tenant", id=queue_id))
    out["queue_id"] = queue_id
    try:
        out["default_region"] = numbers.region_code(str(v.get("default_region") or ""))
    except CampaignError:
        ck.fail("default_region", _("an ISO 3166 country code, e.g. PL"))
    zone = str(v.get("default_timezone") or "")
    try:
        ZoneInfo(zone)
        out["default_timezone"] = zone
    except (ZoneInfoNotFoundError, ValueError):
        ck.fail("default_timezone", _("an IANA time zone, e.g. Europe/Warsaw"))
    out["caller_id_mode"] = ck.choice("caller_id_mode", v.get("caller_id_mode"),
                                      CALLER_ID_MODES)
    fixed = str(v.get("fixed_caller_id") or "").strip()
    out["fixed_caller_id"] = None
    if fixed:
        try:
            out["fixed_caller_id"] = numbers.normalise(
                fixed, out.get("default_region") or "PL").e164
        except CampaignError as err:
            ck.fail("fixed_caller_id", str(err))
    elif out["caller_id_mode"] == "fixed":
        ck.fail("fixed_caller_id", _("required when the caller ID is fixed"))
    start, end = ck.clock("window_start", v.get("window_start")), ck.clock("window_end",
                                                                         v.get("window_end"))
    days_raw = v.get("window_days")
    days: list[int] = []
    if not isinstance(days_raw, list | tuple) or not days_raw:
        ck.fail("window_days", _("choose at least one day"))
    else:
        for d in days_raw:
            day = ck.number("window_days", d, integer=True, low=1, high=7)
            if day is not None:
                days.append(day)
    if start is not None and end is not None and days:
        try:
            CallingWindow(start, end, frozenset(d - 1 for d in days))
        except DialerRecordsError:
            ck.fail("window_end", _("the calling hours must end after they start"))
    out.update(window_start=start, window_end=end, window_days=sorted(set(days)))
    out["max_attempts"] = ck.number("max_attempts", v.get("max_attempts"), integer=True,
                                    low=1, high=100)
    out["ring_timeout_s"] = ck.number("ring_timeout_s", v.get("ring_timeout_s"),
                                      integer=False, low=MIN_RING_S, high=300)
    rate = ck.number("target_abandon_rate", v.get("target_abandon_rate"), integer=False,
                     low=0, high=MAX_ABANDON)
    if rate == 0:
        ck.fail("target_abandon_rate", _("must be more than 0"))
    out["target_abandon_rate"] = rate
    out["regulator"] = ck.choice("regulator", v.get("regulator"), REGULATORS)
    out["preview_batch_size"] = ck.number("preview_batch_size", v.get("preview_batch_size"),
                                          integer=True, low=1, high=100)
    out["dialing_order"] = _order(ck, v.get("dialing_order"))
    out["retry_rules"] = _rules(ck, v.get("retry_rules"), out["max_attempts"])
    if ck.issues:
        raise InvalidFields(ck.issues)
    return out


# ---- writes ----

def save_campaign(s: Session, tenant_id: int, c: Campaign | None,
                  values: dict[str, Any]) -> Campaign:
    """Create (``c`` None: a draft) or change a campaign; :class:`InvalidFields` names
    every wrong value and nothing is written then."""
    if c is not None and c.archived_at is not None:
        raise InvalidFields([FieldIssue("name", _("an archived campaign cannot be changed"))])
    checked = _check(s, tenant_id, c, _merged(c, values))
    if c is None:
        c = Campaign(tenant_id=tenant_id, name=checked["name"])
        s.add(c)
    for key, value in checked.items():
        setattr(c, key, value)
    s.flush()
    return c


def attempt_count(s: Session, campaign_id: int) -> int:
    return s.scalar(select(func.count()).select_from(DialAttempt)
                    .where(DialAttempt.campaign_id == campaign_id)) or 0


def remove_campaign(s: Session, tenant_id: int, campaign_id: int,
                    now: datetime | None = None) -> str:
    """Delete a never-dialled campaign (``"deleted"``) or archive one with attempts
    (``"archived"``: ended, hidden from the lists, its log kept)."""
    c = get_campaign(s, tenant_id, campaign_id)
    if attempt_count(s, c.id):
        c.status = "finished"
        c.archived_at = c.archived_at or now or datetime.now(UTC)
        s.flush()
        return "archived"
    s.delete(c)
    s.flush()
    return "deleted"
