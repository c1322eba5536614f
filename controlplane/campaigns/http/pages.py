"""Campaigns in the panel: agents work preview campaigns and dispose their calls;
supervisors and admins see the campaigns, start and pause them and read the attempts log.

Theory of operation: like agent commands (:mod:`controlplane.acd.http.agents`), the panel never dials. A
preview batch, "call" and "skip" become ``dialer.preview_*`` commands on the
``centrala:commands`` stream (:func:`controlplane.bus.send_preview_command`)
and the daemon's answer is shown at once. Dispositions, the campaigns list and the
attempts log are plain database work (:mod:`controlplane.campaigns.dispositions`).

Who may do what: every user works the preview campaigns they are an agent of (a member
of the campaign's queue, or anyone when it has none) and disposes the attempts they
handled; supervisors and admins may also dispose anyone's, list campaigns, start/pause
them and read the log; only admins change the dispositions (:mod:`.api`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.bus import ControlPlaneNotAnswering, send_preview_command
from controlplane.campaigns import dispositions as disp
from controlplane.campaigns.exceptions import CampaignError, Conflict, InvalidValue, NotFound
from controlplane.campaigns.http.schemas import PER_PAGE, AttemptsQuery
from controlplane.db import transaction
from controlplane.dialer.preview_store import preview_campaigns
from controlplane.models import Role
from controlplane.models.campaigns import RECORD_STATES, Campaign, CampaignRecord, DialAttempt
from web.auth import Forbidden, current_user, login_required
from web.errors import BadParameter, PanelError
from web.errors import NotFound as PanelNotFound
from web.services import services
from web.validation import validated

bp = Blueprint("campaigns", __name__)

SUPERVISORS = (Role.ADMIN, Role.SUPERVISOR)
STARTABLE = {"running": ("draft", "paused", "running"), "paused": ("running", "paused")}
DEFAULT_TIMEOUT_S = 3.0
# PreviewError codes → HTTP status
_STATUS = {"not_found": 404, "forbidden": 403, "bad_command": 400, "expired": 503,
           "error": 500, "agent_phone": 502}


class CommandRefused(PanelError):
    status = 409
    error_id = "command_refused"


class ControlPlaneDown(PanelError):
    status = 503
    error_id = "controlplane_not_answering"


class Conflicting(PanelError):
    status = 409
    error_id = "conflict"


# ---- operations shared by the pages and the API ----

def preview(command: str, campaign_id: int, record_id: int | None = None) -> dict[str, Any]:
    """Send a preview command for the current user; the daemon's reply or a PanelError."""
    user, svc = current_user(), services()
    timeout = float(current_app.config.get("ACD_COMMAND_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    try:
        reply = send_preview_command(svc.redis, command, tenant_id=user.tenant_id,
                                     user_id=user.id, campaign_id=campaign_id,
                                     record_id=record_id, timeout_s=timeout)
    except ControlPlaneNotAnswering as err:
        raise ControlPlaneDown(str(err)) from err
    except redis.RedisError as err:
        raise ControlPlaneDown("preview dialing unavailable (Redis is not reachable)") from err
    if not reply.get("ok"):
        err_ = CommandRefused(reply.get("message") or "refused",
                              details={"code": reply.get("code")})
        err_.status = _STATUS.get(str(reply.get("code")), 409)
        raise err_
    return reply


def parse_when(raw: Any, tz: str | None = None) -> datetime | None:
    """An ISO 8601 time (None for empty); a time without zone is read in ``tz`` if given."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BadParameter("recontact_at", "an ISO 8601 time, e.g. 2026-03-01T10:00:00+01:00")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise BadParameter("recontact_at", f"{raw!r} is not an ISO 8601 time") from None
    if when.tzinfo is None and tz:
        when = when.replace(tzinfo=ZoneInfo(tz))
    return when


def dispose(attempt_id: int, code: Any, raw_when: Any, note: Any, *,
            local_tz: bool = False) -> dict[str, Any]:
    """Dispose an attempt as the current user; errors become PanelErrors naming the field."""
    user = current_user()
    try:
        with transaction(services().sessions) as s:
            tz = None
            if local_tz:
                a = disp.attempt_for(s, user.tenant_id, attempt_id, user.id,
                                     user.role in SUPERVISORS)
                c = s.get(Campaign, a.campaign_id)
                tz = c.default_timezone if c else None
            return disp.dispose(s, user.tenant_id, attempt_id, user.id,
                                supervisor=user.role in SUPERVISORS, code=code,
                                recontact_at=parse_when(raw_when, tz),
                                note=note if note is not None else "", now=datetime.now(UTC))
    except CampaignError as err:
        raise as_panel_error(err) from err


def as_panel_error(err: CampaignError) -> PanelError:
    """A data-layer error as the panel shows it (field-naming 400, 403, 404, 409)."""
    if isinstance(err, disp.InvalidField):
        return BadParameter(err.field, str(err).split(": ", 1)[-1])
    if isinstance(err, disp.NotYours):
        return Forbidden(str(err))
    if isinstance(err, NotFound):
        return PanelNotFound(str(err))
    if isinstance(err, Conflict):
        return Conflicting(str(err))
    if isinstance(err, InvalidValue):
        return PanelError(str(err))
    return PanelError(str(err))


def campaign_list(tenant_id: int, archived: bool = False) -> list[dict[str, Any]]:
    """The tenant's campaigns with their records per state (the archived ones only when
    ``archived``)."""
    with services().sessions() as s:
        where = [Campaign.tenant_id == tenant_id]
        if not archived:
            where.append(Campaign.archived_at.is_(None))
        found = s.scalars(select(Campaign).where(*where).order_by(Campaign.name)).all()
        counts: dict[int, dict[str, int]] = {}
        for cid, state, n in s.execute(
                select(CampaignRecord.campaign_id, CampaignRecord.state, func.count())
                .where(CampaignRecord.tenant_id == tenant_id)
                .group_by(CampaignRecord.campaign_id, CampaignRecord.state)):
            counts.setdefault(cid, {})[state] = n
        return [{"id": c.id, "name": c.name, "mode": c.mode, "status": c.status,
                 "archived": c.archived_at is not None,
                 "counts": {st: counts.get(c.id, {}).get(st, 0) for st in RECORD_STATES}}
                for c in found]


def set_status(campaign_id: int, status: Any) -> str:
    """Start (``running``) or pause (``paused``) a campaign of the user's tenant."""
    if status not in STARTABLE:
        raise BadParameter("status", "running or paused")
    with transaction(services().sessions) as s:
        c = s.get(Campaign, campaign_id)
        if c is None or c.tenant_id != current_user().tenant_id:
            raise PanelNotFound(f"no campaign {campaign_id} in your tenant")
        if c.status not in STARTABLE[status]:
            raise Conflicting(f"campaign {c.name!r} is {c.status}: it cannot become {status}")
        c.status = str(status)
        return c.status


def attempts_page(campaign_id: int, page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of the campaign's compliance rows, newest first."""
    if page < 1:
        raise BadParameter("page", "a page number from 1")
    if not 1 <= per_page <= 200:
        raise BadParameter("per_page", "from 1 to 200")
    with services().sessions() as s:
        c = s.get(Campaign, campaign_id)
        if c is None or c.tenant_id != current_user().tenant_id:
            raise PanelNotFound(f"no campaign {campaign_id} in your tenant")
        where = DialAttempt.campaign_id == campaign_id
        total = s.scalar(select(func.count()).select_from(DialAttempt).where(where)) or 0
        found = s.scalars(select(DialAttempt).where(where).order_by(DialAttempt.id.desc())
                          .offset((page - 1) * per_page).limit(per_page)).all()
        fields = [col.name for col in DialAttempt.__table__.columns]
        rows = [{f: (v.isoformat() if isinstance(v := getattr(a, f), datetime) else v)
                 for f in fields} for a in found]
        return {"campaign": {"id": c.id, "name": c.name}, "attempts": rows, "page": page,
                "per_page": per_page, "total": total, "pages": max(1, math.ceil(total / per_page))}


def _flash(action: Any) -> None:
    try:
        message = action()
    except PanelError as err:
        flash(err.message, "error")
        return
    flash(message, "ok")


# ---- pages ----

@bp.get("/campaigns/mine")
@login_required()
def mine() -> Any:
    user, svc = current_user(), services()
    with svc.sessions() as s:
        waiting = disp.pending(s, user.tenant_id, user.id)
    return render_template("campaigns_mine.html", waiting=waiting,
                           campaigns=preview_campaigns(svc.sessions, user.tenant_id, user.id))


@bp.post("/campaigns/<int:campaign_id>/preview/batch")
@login_required()
def page_batch(campaign_id: int) -> BaseResponse:
    _flash(lambda: f"batch: {len(preview('batch', campaign_id)['records'])} record(s)")
    return redirect(url_for("campaigns.mine"))


@bp.post("/campaigns/<int:campaign_id>/preview/<int:record_id>/<any(dial, skip):action>")
@login_required()
def page_record(campaign_id: int, record_id: int, action: str) -> BaseResponse:
    def run() -> str:
        reply = preview(action, campaign_id, record_id)
        if action == "dial":
            return f"calling: your phone rings, then record #{record_id} is dialled"
        return f"record #{record_id} skipped ({reply.get('state')})"

    _flash(run)
    return redirect(url_for("campaigns.mine"))


@bp.post("/attempts/<int:attempt_id>/disposition")
@login_required()
def page_dispose(attempt_id: int) -> BaseResponse:
    def run() -> str:
        out = dispose(attempt_id, request.form.get("code"), request.form.get("recontact_at"),
                      request.form.get("note", ""), local_tz=True)
        due = f", recontact {out['due_at']}" if out.get("due_at") else ""
        return f"attempt #{attempt_id}: {out['code']} → record {out['record_state']}{due}"

    _flash(run)
    return redirect(url_for("campaigns.mine"))


@bp.get("/campaigns")
@login_required(*SUPERVISORS)
def index() -> Any:
    return render_template("campaigns.html", campaigns=campaign_list(current_user().tenant_id),
                           states=RECORD_STATES)


@bp.post("/campaigns/<int:campaign_id>/status")
@login_required(*SUPERVISORS)
def page_status(campaign_id: int) -> BaseResponse:
    status = request.form.get("status")
    _flash(lambda: f"campaign #{campaign_id}: {set_status(campaign_id, status)}")
    return redirect(url_for("campaigns.index"))


@bp.get("/campaigns/<int:campaign_id>/attempts")
@login_required(*SUPERVISORS)
@validated(query=AttemptsQuery)
def attempts(campaign_id: int, query: AttemptsQuery) -> Any:
    return render_template("campaign_attempts.html",
                           log=attempts_page(campaign_id, query.page, query.per_page))
