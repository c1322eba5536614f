"""JSON API ``/api/v1``: the same data, filters and scope as the pages (session auth for now)."""

from __future__ import annotations

from typing import Annotated, Any

import redis
from flask import Blueprint, jsonify, url_for
from pydantic import BaseModel, Field, model_validator

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


Dialled = Annotated[str, Field(pattern=r"^\+?[0-9]{3,20}$")]


class TransferBody(Body):
    """Exactly one target: a queue of your tenant, an agent of it (through the call's queue:
    rung first, then the queue's agents) or a number (routed over your outbound routes)."""

    queue_id: Id | None = None
    agent_id: Id | None = None
    number: Dialled | None = None

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        given = [n for n in ("queue_id", "agent_id", "number") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of queue_id, agent_id, number")
        return self

    def target(self) -> tuple[str, int | str]:
        if self.queue_id is not None:
            return "queue", self.queue_id
        if self.agent_id is not None:
            return "agent", self.agent_id
        assert self.number is not None
        return "number", self.number


class TransferOut(BaseModel):
    call_id: str
    queue: str | None = None
    agent: str | None = None
    number: str | None = None


class Refused(PanelError):
    """The control plane's refusal of a transfer, with its status and reason."""

    def __init__(self, message: str, status: int, error_id: str) -> None:
        super().__init__(message)
        self.status, self.error_id = status, error_id


REFUSAL_STATUS = {"not_found": 404, "not_talking": 409, "foreign_object": 404,
                  "not_transferable": 409, "not_queued": 409, "no_route": 422, "refused": 403}


@bp.post("/calls/<string:call_id>/transfer")
@login_required()
@validated(body=TransferBody)
@responds(TransferOut)
def transfer(call_id: str, body: TransferBody) -> Any:
    """A blind transfer of a talking customer's call: to queue ``queue_id`` (the caller waits
    for the next agent), to agent ``agent_id`` (rung first, then the call's queue) or to
    ``number`` (the caller hears it ring; unanswered, a queued call goes back to its queue).
    Your leg ends (agents: only a call on their own phone; supervisors: any of the tenant)."""
    user, svc = current_user(), services()
    if len(call_id) > 128:
        raise Refused("no such call", 404, "not_found")
    try:
        result = send_transfer(svc.redis, user.tenant_id, user.id, call_id, *body.target())
    except ControlPlaneNotAnswering as err:
        raise Unavailable(str(err)) from err
    except redis.RedisError as err:
        raise Unavailable("transfer unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        code = str(result.get("code") or "refused")
        raise Refused(str(result.get("message") or "refused"), REFUSAL_STATUS.get(code, 403),
                      code)
    return jsonify({"call_id": call_id, **{k: result[k] for k in ("queue", "agent", "number")
                                           if k in result}})
