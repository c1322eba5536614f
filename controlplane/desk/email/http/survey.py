"""The satisfaction survey page a solved ticket's reply links to: ``/desk/survey/<secret>``.

Public (no login: the secret in the link is the key, :mod:`controlplane.desk.email.survey`).
GET shows five stars' worth of radio buttons and a comment box (the current answer, if the
customer already gave one); POST stores it and thanks. An unknown secret is a 404 page.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from pydantic import Field

from controlplane.db import transaction
from controlplane.desk.email import survey
from web.auth import public
from web.errors import Invalid
from web.schemas.common import MULTI_LINE, Form
from web.services import services
from web.validation import parse_form

bp = Blueprint("desk_survey", __name__)


class SurveyForm(Form):
    """A survey answer: ``score`` 1 (bad) to 5 (very good), an optional ``comment``."""

    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=survey.COMMENT_MAX), MULTI_LINE] = ""


def _unknown() -> Any:
    return render_template("desk_survey.html", state="unknown", values={}, errors={}), 404


@bp.get("/desk/survey/<secret>")
@public
def page(secret: str) -> Any:
    with services().sessions() as s:
        found = survey.find(s, secret)
        if found is None:
            return _unknown()
        values = {"score": found.score, "comment": found.comment}
    return render_template("desk_survey.html", state="form", values=values, errors={})


@bp.post("/desk/survey/<secret>")
@public
def answer(secret: str) -> Any:
    try:
        form = parse_form(SurveyForm)
    except Invalid:
        with services().sessions() as s:
            if survey.find(s, secret) is None:
                return _unknown()
        return render_template("desk_survey.html", state="form", values={},
                               errors={"score": _("Choose a score from 1 to 5.")}), 400
    with transaction(services().sessions) as s:
        found = survey.find(s, secret)
        if found is None:
            return _unknown()
        survey.answer(s, found, form.score, form.comment)
    return render_template("desk_survey.html", state="thanks", values={}, errors={})
