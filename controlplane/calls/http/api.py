"""JSON API ``/api/v1``: the same data, filters and scope as the pages (session auth for now)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify, url_for

from controlplane.calls.http.live import calls_json, live_calls
from controlplane.calls.http.records import find_records, own_endpoints, parse_filter
from controlplane.calls.http.schemas import RecordsQuery
from web.auth import current_user, login_required
from web.errors import PanelError
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
