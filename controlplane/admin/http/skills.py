"""Skills and agents' skills in the panel and the API.

A skill is a name an agent holds at a level from 1 to 10 (``acd_agent_skill``); queues
ask for skills, and the router scores agents on them. ``/admin/skills`` lists the tenant's
skills (how many agents hold each) and every agent's skills, adds, changes the level and
removes. API: ``GET /api/v1/skills``; ``GET|POST /api/v1/agent-skills``,
``GET|PUT|DELETE /api/v1/agent-skills/<id>``. A change reaches routing at once
(``acd.reload``); Asterisk's configuration is not involved.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import service, store
from controlplane.admin.exceptions import InvalidFields
from controlplane.admin.http.common import ADMIN, flash_applied, form_values, list_args, write
from controlplane.admin.schemas import AgentSkillBody, ListQuery
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("admin_skills", __name__)


def _listing(args: dict[str, Any]) -> tuple[list[dict[str, Any]], store.Page]:
    with services().sessions() as s:
        page = store.agent_skills(s, current_user().tenant_id, **args)
        return [service.agent_skill_json(r, login) for r, login in page.rows], page


def _save(skill_id: int | None, values: dict[str, Any]) -> int:
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        row = store.agent_skill(s, tid, skill_id)[0] if skill_id is not None else None
        saved = service.save_agent_skill(s, tid, row, values)
        return saved.id, saved.skill

    (saved, _skill), _applied = write(change, "agent_skill.saved",
                                      lambda r: {"skill": r[1], "id": r[0]}, asterisk=False)
    return saved


def _delete(skill_id: int) -> None:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row, login = store.agent_skill(s, tid, skill_id)
        s.delete(row)
        s.flush()
        return f"{login}:{row.skill}"

    write(change, "agent_skill.deleted", lambda what: {"skill": what}, asterisk=False)


@bp.route("/admin/skills", methods=["GET", "POST"])
@login_required(*ADMIN)
def index() -> Any:
    errors: dict[str, str] = {}
    status = 200
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = form_values()
        try:
            _save(None, form)
            flash_applied(None, _("Skill added"))
            return redirect(url_for("admin_skills.index"))
        except InvalidFields as err:
            errors, status = err.by_field(), 422
    args = list_args()
    try:
        rows, page = _listing(args)
    except InvalidFields:
        rows, page = _listing({**args, "sort": None})
    tid = current_user().tenant_id
    with services().sessions() as s:
        names = store.skill_names(s, tid)
        users = [(u.id, u.display_name or u.login) for u in store.users(s, tid)]
    return render_template("admin_skills.html", rows=rows, page=page, args=args, names=names,
                           users=users, errors=errors, form=form), status


@bp.post("/admin/skills/<int:skill_id>/delete")
@login_required(*ADMIN)
def delete(skill_id: int) -> BaseResponse:
    _delete(skill_id)
    flash_applied(None, _("Skill removed"))
    return redirect(url_for("admin_skills.index"))


@bp.get("/api/v1/skills")
@login_required(*ADMIN)
@validated()
def api_skills() -> Any:
    with services().sessions() as s:
        names = store.skill_names(s, current_user().tenant_id)
    return jsonify({"skills": [{"skill": n, "agents": c} for n, c in names]})


@bp.get("/api/v1/agent-skills")
@login_required(*ADMIN)
@validated(query=ListQuery)
def api_list(query: ListQuery) -> Any:
    rows, page = _listing(query.model_dump())
    return jsonify({"agent_skills": rows, **page.meta()})


@bp.post("/api/v1/agent-skills")
@login_required(*ADMIN)
@validated(body=AgentSkillBody)
def api_create(body: AgentSkillBody) -> Any:
    return _api_one(_save(None, body.given())), 201


@bp.get("/api/v1/agent-skills/<int:skill_id>")
@login_required(*ADMIN)
@validated()
def api_get(skill_id: int) -> Any:
    return _api_one(skill_id)


@bp.put("/api/v1/agent-skills/<int:skill_id>")
@login_required(*ADMIN)
@validated(body=AgentSkillBody)
def api_update(skill_id: int, body: AgentSkillBody) -> Any:
    return _api_one(_save(skill_id, body.given()))


@bp.delete("/api/v1/agent-skills/<int:skill_id>")
@login_required(*ADMIN)
@validated()
def api_delete(skill_id: int) -> Any:
    _delete(skill_id)
    return jsonify({"deleted": skill_id})


def _api_one(skill_id: int) -> Any:
    with services().sessions() as s:
        row, login = store.agent_skill(s, current_user().tenant_id, skill_id)
        return jsonify({"agent_skill": service.agent_skill_json(row, login)})
