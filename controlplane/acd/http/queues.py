"""Queues in the panel: configuration and break reasons (admins), the live wallboard
(supervisors and admins), and their JSON API.

Every change is validated in :mod:`.queue_form` (each error names its field),
committed, and then announced to the daemon with ``{"cmd": "acd.reload"}`` on the
``centrala:commands`` stream so routing uses it at once. When Redis is down the
change is still saved; the page says the control plane was not told (it reads
everything again at its next start). The wallboard reads the ACD's Redis mirror
(:mod:`.board`) and ``static/acd.js`` polls ``/api/v1/queues/stats`` every 2 s.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.acd.http import queue_form as qc
from controlplane.acd.http.board import wallboard
from controlplane.acd.http.schemas import BreakReasonBody, QueueBody
from controlplane.bus import send_reload
from controlplane.db import transaction
from controlplane.models import Role, User
from controlplane.models.acd import BREAK_KINDS, AgentBreakReason, Queue
from web.auth import current_user, login_required
from web.errors import NotFound, PanelError
from web.services import services
from web.validation import validated

log = logging.getLogger(__name__)

bp = Blueprint("queues", __name__)

ADMIN = (Role.ADMIN,)
VIEWERS = (Role.ADMIN, Role.SUPERVISOR)
NOT_TOLD = (
    "saved, but the control plane was not told (Redis is not reachable); it reads the "
    "configuration again when it restarts"
)


def not_told() -> str:
    """:data:`NOT_TOLD` in the page's language."""
    return _("saved, but the control plane was not told (Redis is not reachable); it reads "
             "the configuration again when it restarts")


class Unavailable(PanelError):
    status = 503
    error_id = "unavailable"


def _reload(tenant_id: int) -> bool:
    try:
        send_reload(services().redis, tenant_id, actor_id=current_user().id)
        return True
    except redis.RedisError as err:
        log.warning("acd.reload for tenant %s not sent: %s", tenant_id, err)
        return False


def _queue(s: Session, queue_id: int) -> Queue:
    q = s.scalar(
        select(Queue).where(Queue.id == queue_id, Queue.tenant_id == current_user().tenant_id)
    )
    if q is None:
        raise NotFound(f"no queue {queue_id} in your tenant")
    return q


def _candidates(s: Session, tenant_id: int) -> list[User]:
    return list(
        s.scalars(
            select(User)
            .where(User.tenant_id == tenant_id, User.active.is_(True))
            .order_by(User.login)
        )
    )


def _save(queue_id: int | None, data: dict[str, Any]) -> tuple[int, bool]:
    """Validate and store; returns (queue id, control plane told)."""
    tid = current_user().tenant_id
    try:
        with transaction(services().sessions) as s:
            values, members = qc.parse_queue(s, tid, data, queue_id)
            q = _queue(s, queue_id) if queue_id is not None else None
            saved = qc.save_queue(s, tid, q, values, members).id
    except IntegrityError as err:  # a concurrent save took the name
        raise qc.InvalidForm(
            [qc.FieldError("name", "a queue with this name already exists")]
        ) from err
    return saved, _reload(tid)


# ---- pages: configuration (admins) ----


@bp.get("/queues")
@login_required(*ADMIN)
def index() -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        queues = s.scalars(select(Queue).where(Queue.tenant_id == tid).order_by(Queue.name)).all()
        names = {q.id: q.name for q in queues}
        counts = {q.id: len(qc.members_of(s, q.id)) for q in queues}
    return render_template("queues.html", queues=queues, names=names, counts=counts)


def _form_page(
    queue_id: int | None, values: dict[str, Any], members: dict[int, Any], errors: dict[str, str]
) -> str:
    tid = current_user().tenant_id
    with services().sessions() as s:
        candidates = _candidates(s, tid)
        others = s.scalars(
            select(Queue)
            .where(Queue.tenant_id == tid, Queue.id != (queue_id or -1))
            .order_by(Queue.name)
        ).all()
        others_list = [(q.id, q.name) for q in others]
    return render_template(
        "queue_form.html",
        queue_id=queue_id,
        values=values,
        members=members,
        errors=errors,
        candidates=candidates,
        others=others_list,
        choices=qc.CHOICES,
    )


@bp.route("/queues/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/queues/<int:queue_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(queue_id: int) -> Any:
    return _edit(queue_id)


def _edit(queue_id: int | None) -> Any:
    if request.method == "GET":
        if queue_id is None:
            return _form_page(None, qc.queue_defaults(), {}, {})
        with services().sessions() as s:
            q = _queue(s, queue_id)
            values, members = qc.queue_values(q), qc.members_of(s, q.id)
        return _form_page(queue_id, values, members, {})
    with services().sessions() as s:
        if queue_id is not None:
            _queue(s, queue_id)  # 404 before validation
        ids = [u.id for u in _candidates(s, current_user().tenant_id)]
    data: dict[str, Any] = dict(request.form)
    data["members"] = qc.form_members(request.form, ids)
    try:
        saved, told = _save(queue_id, data)
    except qc.InvalidForm as err:
        members = {m["user_id"]: m["penalty"] for m in data["members"]}
        return _form_page(queue_id, dict(request.form), members, err.by_field()), 422
    flash(_("queue saved") if told else not_told(), "ok" if told else "error")
    return redirect(url_for("queues.edit", queue_id=saved))


@bp.post("/queues/<int:queue_id>/delete")
@login_required(*ADMIN)
def delete(queue_id: int) -> BaseResponse:
    with transaction(services().sessions) as s:
        q = _queue(s, queue_id)
        name = q.name
        qc.delete_queue(s, q)
    told = _reload(current_user().tenant_id)
    flash(_("queue %(name)s deleted", name=name) if told else not_told(),
          "ok" if told else "error")
    return redirect(url_for("queues.index"))


@bp.route("/queues/breaks", methods=["GET", "POST"])
@login_required(*ADMIN)
def breaks() -> Any:
    tid = current_user().tenant_id
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            added = _add_break(dict(request.form))
            told = added["reloaded"]
            flash(
                _("break reason %(code)s added", code=added["code"]) if told else not_told(),
                "ok" if told else "error",
            )
            return redirect(url_for("queues.breaks"))
        except qc.InvalidForm as err:
            errors, status = err.by_field(), 422
    with services().sessions() as s:
        rows = s.scalars(
            select(AgentBreakReason)
            .where(AgentBreakReason.tenant_id == tid)
            .order_by(AgentBreakReason.code)
        ).all()
    form = dict(request.form) if request.method == "POST" else {}
    return render_template(
        "breaks.html", rows=rows, errors=errors, form=form, kinds=BREAK_KINDS
    ), status


def _add_break(data: dict[str, Any]) -> dict[str, Any]:
    tid = current_user().tenant_id
    try:
        with transaction(services().sessions) as s:
            row = qc.parse_break(s, tid, data)
            s.add(row)
            s.flush()
            out = qc.break_json(row)
    except IntegrityError as err:
        raise qc.InvalidForm([qc.FieldError("code", "this break reason already exists")]) from err
    return {**out, "reloaded": _reload(tid)}


def _delete_break(break_id: int) -> bool:
    tid = current_user().tenant_id
    with transaction(services().sessions) as s:
        row = s.scalar(
            select(AgentBreakReason).where(
                AgentBreakReason.id == break_id, AgentBreakReason.tenant_id == tid
            )
        )
        if row is None:
            raise NotFound(f"no break reason {break_id} in your tenant")
        s.delete(row)
    return _reload(tid)


@bp.post("/queues/breaks/<int:break_id>/delete")
@login_required(*ADMIN)
def delete_break(break_id: int) -> BaseResponse:
    told = _delete_break(break_id)
    flash(_("break reason deleted") if told else not_told(), "ok" if told else "error")
    return redirect(url_for("queues.breaks"))


# ---- page: wallboard (supervisors and admins) ----


def _wallboard() -> dict[str, Any]:
    svc = services()
    try:
        with svc.sessions() as s:
            return wallboard(svc.redis, s, current_user().tenant_id)
    except redis.RedisError as err:
        raise Unavailable("live queue data unavailable (Redis is not reachable)") from err


@bp.get("/queues/wallboard")
@login_required(*VIEWERS)
def wall() -> Any:
    try:
        board, error = _wallboard(), None
    except Unavailable as err:
        board, error = {"queues": [], "at": None}, err.message
    return render_template("wallboard.html", board=board, error=error)


# ---- JSON API ----


@bp.get("/api/v1/queues/stats")
@login_required(*VIEWERS)
@validated()
def api_stats() -> Any:
    return jsonify(_wallboard())


@bp.get("/api/v1/queues")
@login_required(*ADMIN)
@validated()
def api_list() -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        rows = s.scalars(select(Queue).where(Queue.tenant_id == tid).order_by(Queue.name))
        return jsonify({"queues": [qc.queue_json(s, q) for q in rows]})


@bp.post("/api/v1/queues")
@login_required(*ADMIN)
@validated(body=QueueBody)
def api_create(body: QueueBody) -> Any:
    saved, told = _save(None, body.given())
    return _api_queue(saved, told), 201


@bp.get("/api/v1/queues/<int:queue_id>")
@login_required(*ADMIN)
@validated()
def api_get(queue_id: int) -> Any:
    return _api_queue(queue_id, None)


@bp.put("/api/v1/queues/<int:queue_id>")
@login_required(*ADMIN)
@validated(body=QueueBody)
def api_update(queue_id: int, body: QueueBody) -> Any:
    """Fields not sent keep their value (members too, unless ``members`` is sent)."""
    with services().sessions() as s:
        current = qc.queue_json(s, _queue(s, queue_id))
    saved, told = _save(queue_id, {**current, **body.given()})
    return _api_queue(saved, told)


@bp.delete("/api/v1/queues/<int:queue_id>")
@login_required(*ADMIN)
@validated()
def api_delete(queue_id: int) -> Any:
    with transaction(services().sessions) as s:
        qc.delete_queue(s, _queue(s, queue_id))
    return jsonify({"deleted": queue_id, "reloaded": _reload(current_user().tenant_id)})


def _api_queue(queue_id: int, told: bool | None) -> Any:
    with services().sessions() as s:
        out = qc.queue_json(s, _queue(s, queue_id))
    return jsonify({"queue": out} if told is None else {"queue": out, "reloaded": told})


@bp.get("/api/v1/break-reasons")
@login_required(*ADMIN)
@validated()
def api_breaks() -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        rows = s.scalars(
            select(AgentBreakReason)
            .where(AgentBreakReason.tenant_id == tid)
            .order_by(AgentBreakReason.code)
        )
        return jsonify({"break_reasons": [qc.break_json(b) for b in rows]})


@bp.post("/api/v1/break-reasons")
@login_required(*ADMIN)
@validated(body=BreakReasonBody)
def api_add_break(body: BreakReasonBody) -> Any:
    return jsonify({"break_reason": _add_break(body.given())}), 201


@bp.delete("/api/v1/break-reasons/<int:break_id>")
@login_required(*ADMIN)
@validated()
def api_delete_break(break_id: int) -> Any:
    return jsonify({"deleted": break_id, "reloaded": _delete_break(break_id)})
