"""The recordings app's page: search, play with seek, tags, delete (blueprint ``recordings``).

``GET /recordings`` lists the recordings the user may see (:mod:`.recordings_search`: the
call records' scope, so an agent finds only calls on their own phones, supervisors and
administrators the whole tenant), each with an ``<audio preload="none">`` player whose
source is :func:`controlplane.calls.http.pages.recording_response` (``send_file`` with
``conditional=True``: a ``Range`` request gets ``206 Partial Content``, which is what lets
the browser seek). Tags and deletion are posted forms (CSRF); they are the supervisors'
and administrators' (:mod:`.recordings_manage`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.calls.http.recordings_search import (
    RecordingSearchQuery,
    details,
    search,
    tenant_tags,
)
from controlplane.calls.http.records import RecordPage
from controlplane.models import PhoneEndpoint, Role, User
from controlplane.models.acd import Queue
from controlplane.models.campaigns import Campaign
from controlplane.recordings.store import retention_days
from web.auth import CurrentUser, current_user, login_required
from web.errors import Invalid
from web.services import services
from web.validation import parse_query

bp = Blueprint("recordings", __name__)

FILTER_ARGS = ("from", "to", "number", "agent", "queue", "campaign", "disposition",
               "min_duration", "max_duration", "tag", "per_page")
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


def choices(s: Session, user: CurrentUser) -> dict[str, Any]:
    """The form's selects: agents (users with a phone), queues, campaigns, tags."""
    tenant = user.tenant_id
    agents = s.execute(
        select(User.id, User.display_name, User.login).where(
            User.tenant_id == tenant,
            User.id.in_(select(PhoneEndpoint.user_id).where(PhoneEndpoint.tenant_id == tenant)))
        .order_by(User.display_name, User.login)).all()
    return {
        "agents": [(uid, name or login) for uid, name, login in agents],
        "queues": list(s.scalars(select(Queue.name).where(Queue.tenant_id == tenant)
                                 .order_by(Queue.name))),
        "campaigns": s.execute(select(Campaign.id, Campaign.name)
                               .where(Campaign.tenant_id == tenant)
                               .order_by(Campaign.name)).all(),
        "tags": tenant_tags(s, tenant),
    }


@bp.get("/recordings")
@login_required(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
def page() -> Any:
    user = current_user()
    error: str | None = None
    result: RecordPage | None = None
    with services().sessions() as s:
        try:
            query = parse_query(RecordingSearchQuery)
            assert query is not None
            result = search(s, user, query)
        except Invalid as err:
            error = err.message
        more = details(s, user.tenant_id, [r.record for r in result.rows]) if result else {}
        lists = choices(s, user)
        retention = retention_days(s, user.tenant_id)
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    return render_template(
        "recordings.html", page=result, more=more, args=args, error=error,
        manager=user.role in MANAGERS, is_agent=user.role is Role.AGENT,
        is_admin=user.role is Role.ADMIN, retention=retention,
        back=request.query_string.decode("utf-8", "replace"), **lists,
    ), (400 if error else 200)
