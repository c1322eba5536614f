"""JSON API ``/api/v1``: the same data, filters and scope as the pages (session auth for now)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify, url_for
from pydantic import BaseModel

from controlplane.bus import ControlPlaneNotAnswering, send_transfer
from controlplane.calls.http.live import calls_json, live_calls
from controlplane.calls.http.records import find_records, own_endpoints, parse_filter
from controlplane.calls.http.schemas import RecordsQuery
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import PanelError
from web.schemas.common import Body, Id
from web.services import services
from web.validation import validated

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class Unavailable(PanelError):
    status = 503
    error_id = "unavailable"


@bp.get("/calls/live")
@login_required()
@validated()
def calls_live() -> Any:
    svc, user = services(), current_user()
    with svc.sessions() as s:
        endpoints = own_endpoints(s, user)
    try:
        calls = live_calls(svc.redis, user, endpoints)
    except redis.RedisError as err:
        raise Unavailable("live data unavailable (Redis is not reachable)") from err
    return jsonify({"calls": calls_json(calls)})


@bp.get("/calls/records")
@login_required()
@validated(query=RecordsQuery)
def calls_records(query: RecordsQuery) -> Any:
    flt = parse_filter(query)
    with services().sessions() as s:
        page = find_records(s, current_user(), flt)
    records = []
    for row in page.rows:
        item = row.to_json()
        item["recording_url"] = (
            url_for("calls.recording", record_id=row.record.id) if item["has_recording"] else None
        )
        records.append(item)
    return jsonify(
        {
            "records": records,
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
        }
    )


class TransferBody(Body):
    """The queue of your tenant the caller is sent to."""

    queue_id: Id


class TransferOut(BaseModel):
    call_id: str
    queue: str


class Refused(PanelError):
    """The control plane's refusal of a transfer, with its status and reason."""

    def __init__(self, message: str, status: int, error_id: str) -> None:
        super().__init__(message)
        self.status, self.error_id = status, error_id


REFUSAL_STATUS = {"not_found": 404, "not_talking": 409, "foreign_object": 404}


@bp.post("/calls/<string:call_id>/transfer")
@login_required()
@validated(body=TransferBody)
@responds(TransferOut)
def transfer(call_id: str, body: TransferBody) -> Any:
    """A blind transfer: the talking caller waits in queue ``queue_id`` for the next agent;
    your leg ends (agents: only a call on their own phone; supervisors: any of the tenant)."""
    user, svc = current_user(), services()
    if len(call_id) > 128:
        raise Refused("no such call", 404, "not_found")
    try:
        result = send_transfer(svc.redis, user.tenant_id, user.id, call_id, body.queue_id)
    except ControlPlaneNotAnswering as err:
        raise Unavailable(str(err)) from err
    except redis.RedisError as err:
        raise Unavailable("transfer unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        code = str(result.get("code") or "refused")
        raise Refused(str(result.get("message") or "refused"), REFUSAL_STATUS.get(code, 403),
                      code)
    return jsonify({"call_id": call_id, "queue": result["queue"]})
