"""Contacts pages: ``/contacts`` (search, list, paging), ``/contacts/new``,
``/contacts/<id>`` (edit form with numbers and custom fields, likely duplicates with a
merge button, the merge log and the history timeline in the tenant's time zone),
``POST /contacts/<id>/delete`` and ``POST /contacts/<id>/merge`` (both confirmed in the
browser by ``confirm.js``).

The form posts repeated fields: ``phone`` (one per number, blanks ignored) with ``main``
the index of the main one, and ``custom_key``/``custom_value`` pairs. They are read into
the API's shape and saved by the same code (:func:`.common.save`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin.http.common import list_args
from controlplane.contacts.exceptions import FieldIssue, InvalidFields, NumberTaken
from controlplane.contacts.http import common
from controlplane.contacts.http.common import ROLES
from controlplane.contacts.http.labels import (
    CHANNEL,
    CHAT_STATUS,
    HLR_STATUS,
    MOVED,
    RECONTACT_STATUS,
    TICKET_STATUS,
)
from web.auth import login_required

bp = Blueprint("contacts", __name__)

@bp.get("/contacts")
@login_required(*ROLES)
def index() -> Any:
    args = list_args()
    try:
        rows, page = common.listing(args)
    except InvalidFields:
        args["sort"] = None
        rows, page = common.listing(args)
    return render_template("contacts.html", rows=rows, page=page, args=args)


def _form_values() -> dict[str, Any]:
    """The posted form in the API's shape."""
    form = request.form
    numbers = form.getlist("phone")
    main = form.get("main", "0")
    phones = [{"number": n, "main": str(i) == main} for i, n in enumerate(numbers)
              if n.strip()]
    custom = {k.strip(): v for k, v in zip(form.getlist("custom_key"),
                                           form.getlist("custom_value"), strict=False)
              if k.strip()}
    return {"first_name": form.get("first_name", ""), "last_name": form.get("last_name", ""),
            "email": form.get("email", ""), "timezone": form.get("timezone", ""),
            "phones": phones, "custom": custom}


def _render(contact_id: int | None, values: dict[str, Any], errors: dict[str, str],
            status: int = 200) -> Any:
    card = common.card(contact_id) if contact_id is not None else None
    return render_template("contacts_form.html", contact_id=contact_id, values=values,
                           errors=errors, card=card, recontact_status=RECONTACT_STATUS,
                           hlr_status=HLR_STATUS, moved_names=MOVED,
                           ticket_status=TICKET_STATUS, chat_status=CHAT_STATUS,
                           channel_names=CHANNEL), status


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required(*ROLES)
def create() -> Any:
    return _edit(None)


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@login_required(*ROLES)
def edit(contact_id: int) -> Any:
    return _edit(contact_id)


def _edit(contact_id: int | None) -> Any:
    if request.method == "GET":
        values = (common.contact_json(contact_id) if contact_id is not None
                  else {"phones": [], "custom": {}})
        return _render(contact_id, values, {})
    values = _form_values()
    try:
        saved = common.save(contact_id, values)
    except InvalidFields as err:
        return _render(contact_id, _shown(values), _errors(err.issues), 422)
    except NumberTaken as err:
        message = _("%(number)s is already the number of %(name)s (#%(id)s)",
                    number=err.number, name=err.name or _("a contact without a name"),
                    id=err.contact_id)
        return _render(contact_id, _shown(values), {err.field: message,
                                                    "taken_by": str(err.contact_id)}, 409)
    flash(_("Contact saved") if contact_id else _("Contact created"), "ok")
    return redirect(url_for("contacts.edit", contact_id=saved))


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """The posted values as the form shows them again."""
    return {**values, "phones": [{"number": p["number"], "main": p["main"]}
                                 for p in values["phones"]]}


def _errors(issues: tuple[FieldIssue, ...]) -> dict[str, str]:
    return {i.field: i.message for i in issues}


@bp.post("/contacts/<int:contact_id>/delete")
@login_required(*ROLES)
def delete(contact_id: int) -> BaseResponse:
    common.delete(contact_id)
    flash(_("Contact deleted"), "ok")
    return redirect(url_for("contacts.index"))


@bp.post("/contacts/<int:contact_id>/merge")
@login_required(*ROLES)
def merge(contact_id: int) -> BaseResponse:
    try:
        from_id = int(request.form.get("from_id", ""))
    except ValueError:
        raise InvalidFields([FieldIssue("from_id", _("which contact to merge"))]) from None
    merged = common.merge(contact_id, from_id)
    flash(_("Contact #%(id)s merged into this one", id=merged["merged_id"]), "ok")
    return redirect(url_for("contacts.edit", contact_id=contact_id))
