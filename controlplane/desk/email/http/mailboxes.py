"""Mailboxes in the panel and the API (admins only).

Pages: ``/admin/mailboxes`` (list with each mailbox's last poll: when, and the error if it
failed), ``/admin/mailboxes/new``, ``/admin/mailboxes/<id>`` (edit, routing rules as rows
tried top to bottom), ``…/<id>/test`` (log in to IMAP and SMTP now, bounded: each step
within :data:`~controlplane.desk.email.connection.TEST_TIMEOUT_S`; the answer is shown on
the page) and ``…/<id>/delete``. API: ``GET|POST /api/v1/mailboxes``,
``GET|PUT|DELETE /api/v1/mailboxes/<id>``. Passwords are write-only everywhere: the form's
password fields are always empty (empty keeps the stored one) and the API only says
whether one is set. Every change is audited (field names, never values). The connection
test is a page action only: an API that opens connections to any host a client names
would be a port scanner.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin.http.common import ADMIN, form_values, write
from controlplane.desk.email import connection, outgoing, reader, service, store
from controlplane.desk.email.exceptions import FieldIssue, InvalidFields
from controlplane.desk.email.http.schemas import (
    MailboxBody,
    MailboxDeleted,
    MailboxList,
    MailboxResponse,
)
from controlplane.desk.email.rules import FIELDS as RULE_FIELDS
from controlplane.desk.email.vault import VaultError
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("desk_mailboxes", __name__)
RULE_ROWS = 3  # empty rule rows offered below the stored ones
INTS = ("imap_port", "smtp_port", "queue_id", "poll_interval_s")
PASSWORDS = ("imap_password", "smtp_password")


def shown_error(text: str) -> str:
    """A stored poll error or a test's answer (English: the reader runs outside any
    request) with its known phrases in the user's language; host names stay as they are."""
    phrases = {
        "login refused (check the login and password)":
            _("login refused (check the login and password)"),
        "connection refused": _("connection refused"),
        "unknown host": _("unknown host"),
        "no answer in time": _("no answer in time"),
        "an unencrypted connection is allowed only to a loopback host":
            _("an unencrypted connection is allowed only to a loopback host"),
        "INBOX cannot be opened": _("INBOX cannot be opened"),
        "enter the password again": _("enter the password again"),
    }
    for english, local in phrases.items():
        text = text.replace(english, local)
    return text


def _save(box_id: int | None, values: dict[str, Any]) -> int:
    tid, runtime = current_user().tenant_id, services().settings.runtime_dir

    def change(s: Session) -> tuple[int, str]:
        box = store.mailbox(s, tid, box_id) if box_id is not None else None
        saved = service.save(s, runtime, tid, box, values)
        return saved.id, saved.address

    kind = "mailbox.created" if box_id is None else "mailbox.updated"
    (saved, _address), _applied = write(change, kind, lambda r: {
        "mailbox": r[1], "fields": sorted(values)}, asterisk=False, acd=False)
    return saved


def _delete(box_id: int) -> str:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        box = store.mailbox(s, tid, box_id)
        address = box.address
        s.delete(box)
        s.flush()
        return address

    address, _applied = write(change, "mailbox.deleted", lambda a: {"mailbox": a},
                              asterisk=False, acd=False)
    return address


def _from_form() -> tuple[dict[str, Any], list[FieldIssue]]:
    """The posted form as the service's values: numbers parsed, rule rows as a list."""
    raw = form_values()
    values: dict[str, Any] = {}
    issues = []
    for name in ("address", "display_name", "imap_host", "imap_security", "imap_login",
                 "smtp_host", "smtp_security", "smtp_login", *PASSWORDS):
        values[name] = raw.get(name) or ("" if name in ("display_name", "imap_login",
                                                       "smtp_login") else None)
    for name in INTS:
        text = raw.get(name)
        try:
            values[name] = int(text) if text is not None else None
        except ValueError:
            issues.append(FieldIssue(name, _("a whole number")))
    values["active"] = raw.get("active") == "on"
    rules = []
    for i in range(100):
        field, text, queue = (raw.get(f"rule_field_{i}"), raw.get(f"rule_contains_{i}"),
                              raw.get(f"rule_queue_{i}"))
        if field is None and text is None and queue is None:
            if f"rule_field_{i}" not in request.form:
                break
            continue
        if not text:
            continue  # an empty row is not a rule
        try:
            rules.append({"field": field, "contains": text, "queue_id": int(queue or "")})
        except ValueError:
            issues.append(FieldIssue(f"rules[{len(rules)}].queue_id", _("choose a queue")))
    values["rules"] = rules
    return values, issues


def _form(box_id: int | None, values: dict[str, Any], errors: dict[str, str],
          test: connection.TestResult | None = None) -> str:
    with services().sessions() as s:
        queues = store.queues(s, current_user().tenant_id)
    rules = list(values.get("rules") or []) + [{}] * RULE_ROWS
    if values.get("last_error"):
        values = {**values, "last_error": shown_error(values["last_error"])}
    if test is not None:
        test = connection.TestResult(shown_error(test.imap), shown_error(test.smtp))
    return render_template("desk_mailbox_form.html", box_id=box_id, values=values,
                           errors=errors, queues=queues, rules=rules, rule_fields=RULE_FIELDS,
                           test=test)


@bp.get("/admin/mailboxes")
@login_required(*ADMIN)
def index() -> Any:
    with services().sessions() as s:
        tid = current_user().tenant_id
        rows = [service.mailbox_json(b) for b in store.mailboxes(s, tid)]
        queues = dict(store.queues(s, tid))
    for row in rows:
        row["last_error"] = shown_error(row["last_error"])
    return render_template("desk_mailboxes.html", rows=rows, queues=queues)


@bp.route("/admin/mailboxes/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/admin/mailboxes/<int:box_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(box_id: int) -> Any:
    return _edit(box_id)


def _edit(box_id: int | None) -> Any:
    if request.method == "GET":
        values: dict[str, Any] = {"imap_security": "ssl", "smtp_security": "ssl",
                                  "imap_port": 993, "smtp_port": 465, "poll_interval_s": 30,
                                  "active": True, "rules": []}
        if box_id is not None:
            with services().sessions() as s:
                values = service.mailbox_json(store.mailbox(s, current_user().tenant_id, box_id))
        return _form(box_id, values, {})
    values, issues = _from_form()
    try:
        if issues:
            raise InvalidFields(issues)
        saved = _save(box_id, values)
    except InvalidFields as err:
        shown = {k: v for k, v in values.items() if k not in PASSWORDS}
        return _form(box_id, shown, err.by_field()), 422
    flash(_("Mailbox saved"), "ok")
    return redirect(url_for("desk_mailboxes.edit", box_id=saved))


@bp.post("/admin/mailboxes/<int:box_id>/test")
@login_required(*ADMIN)
def test(box_id: int) -> Any:
    settings = services().settings
    with services().sessions() as s:
        box = store.mailbox(s, current_user().tenant_id, box_id)
        values = service.mailbox_json(box)
        try:
            imap = reader.imap_endpoint(settings.runtime_dir, box)
            smtp = outgoing.smtp_endpoint(settings, box)
        except VaultError as err:
            result = connection.TestResult(str(err), str(err))
            return _form(box_id, values, {}, result)
    return _form(box_id, values, {}, connection.test(imap, smtp))


@bp.post("/admin/mailboxes/<int:box_id>/delete")
@login_required(*ADMIN)
def delete(box_id: int) -> BaseResponse:
    _delete(box_id)
    flash(_("Mailbox deleted"), "ok")
    return redirect(url_for("desk_mailboxes.index"))


def _api_box(box_id: int) -> dict[str, Any]:
    with services().sessions() as s:
        return {"mailbox": service.mailbox_json(
            store.mailbox(s, current_user().tenant_id, box_id))}


@bp.get("/api/v1/mailboxes")
@responds(MailboxList)
@login_required(*ADMIN)
@validated()
def api_list() -> Any:
    with services().sessions() as s:
        rows = [service.mailbox_json(b) for b in store.mailboxes(s, current_user().tenant_id)]
    return jsonify({"mailboxes": rows})


@bp.post("/api/v1/mailboxes")
@responds(MailboxResponse, 201)
@login_required(*ADMIN)
@validated(body=MailboxBody)
def api_create(body: MailboxBody) -> Any:
    return jsonify(_api_box(_save(None, body.given()))), 201


@bp.get("/api/v1/mailboxes/<int:box_id>")
@responds(MailboxResponse)
@login_required(*ADMIN)
@validated()
def api_get(box_id: int) -> Any:
    return jsonify(_api_box(box_id))


@bp.put("/api/v1/mailboxes/<int:box_id>")
@responds(MailboxResponse)
@login_required(*ADMIN)
@validated(body=MailboxBody)
def api_update(box_id: int, body: MailboxBody) -> Any:
    """Fields not sent keep their value; passwords not sent keep the stored ones."""
    return jsonify(_api_box(_save(box_id, body.given())))


@bp.delete("/api/v1/mailboxes/<int:box_id>")
@responds(MailboxDeleted)
@login_required(*ADMIN)
@validated()
def api_delete(box_id: int) -> Any:
    _delete(box_id)
    return jsonify({"deleted": box_id})
