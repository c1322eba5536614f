"""The audit log in the panel (``/security/audit``, CSV export) and the API
(``GET /api/v1/audit-events``): admins only, their own tenant only.

Who (actor), when (the tenant's time zone, the locale's format), from where (source
address), what (action, with a human label where one exists) and the detail with its
before/after, secrets masked (:func:`controlplane.access.store.mask`). Filters: actor
(part of it), action (a kind or its prefix, ``login.``), a date range in the tenant's
days; pages of 25–200. The CSV has the same filters and columns, times in the tenant's
zone with the zone named in the header.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import lazy_gettext

from controlplane.access import store
from controlplane.access.http.schemas import PAGE_SIZES, AuditQuery
from controlplane.models import Role
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("audit_log", __name__)

_ = lazy_gettext
# Human names of the actions written today; an unknown one is shown as written.
ACTION_LABELS = {
    "login.ok": _("Logged in"),
    "login.failed": _("Failed login"),
    "login.refused": _("Login refused"),
    "logout": _("Logout"),
    "session.revoked": _("Session ended"),
    "session.taken_over": _("Session taken over"),
    "access.policy_changed": _("Access settings changed"),
    "totp.enabled": _("Second factor turned on"),
    "totp.reset": _("Second factor reset"),
    "totp.recovery_used": _("Recovery code used"),
}


def _filter(q: AuditQuery) -> store.AuditFilter:
    return store.AuditFilter(actor=q.actor, action=q.action, since=q.since, until=q.until)


def action_label(kind: str) -> str:
    return str(ACTION_LABELS.get(kind, kind))


@bp.get("/security/audit")
@login_required(Role.ADMIN)
@validated(query=AuditQuery)
def page(query: AuditQuery) -> Any:
    me = current_user()
    with services().sessions() as s:
        rows, total = store.page(s, me.tenant_id, _filter(query), me.time_zone,
                                 number=query.page, size=query.per_page)
        kinds = store.actions(s, me.tenant_id)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    pages = max(1, -(-total // query.per_page))
    return render_template(
        "audit_log.html", rows=rows, total=total, query=query, kinds=kinds, pages=pages,
        sizes=PAGE_SIZES, label=action_label, as_json=_pretty,
        page_url=lambda n: url_for("audit_log.page", **args, page=n),
        csv_url=url_for("audit_log.export_csv", **args))


def _pretty(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""


@bp.get("/security/audit.csv")
@login_required(Role.ADMIN)
@validated(query=AuditQuery)
def export_csv(query: AuditQuery) -> Response:
    me = current_user()
    zone = ZoneInfo(me.time_zone)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow([f"time ({me.time_zone})", "action", "action_label", "actor", "source",
                    "severity", "detail"])
        with services().sessions() as s:
            for r in store.export(s, me.tenant_id, _filter(query), me.time_zone):
                w.writerow([r.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), r.action,
                            action_label(r.action), r.actor, r.source, r.severity,
                            _pretty(r.detail)])
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    # Streamed (up to EXPORT_MAX rows) inside the request's context: labels are translated.
    return Response(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=audit-log.csv"})


@bp.get("/api/v1/audit-events")
@login_required(Role.ADMIN)
@validated(query=AuditQuery)
def api_list(query: AuditQuery) -> Any:
    me = current_user()
    with services().sessions() as s:
        rows, total = store.page(s, me.tenant_id, _filter(query), me.time_zone,
                                 number=query.page, size=query.per_page)
    return jsonify({"events": [r.as_json() for r in rows], "total": total,
                    "page": query.page, "per_page": query.per_page})
