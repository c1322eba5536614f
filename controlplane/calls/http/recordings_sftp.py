"""Copying recordings to the tenant's own SFTP server: page ``/recordings/sftp`` and
``/api/v1/recordings/sftp`` (administrators), blueprint ``recordings_sftp``.

* ``GET /api/v1/recordings/sftp``: the settings, the platform's public key to add to the
  server's ``authorized_keys``, the pinned host key's fingerprint, the last copy's result
  and how many recordings wait to be copied;
* ``PUT /api/v1/recordings/sftp`` ``{"enabled", "host", "port", "username", "remote_dir"}``:
  a changed host or port forgets the pinned host key (the next test pins the new one);
  copying cannot be turned on before a host key is pinned;
* ``POST /api/v1/recordings/sftp/test``: connects, pins the host key when none is pinned,
  logs in with the platform's key and lists the folder; the answer says what failed.

Every change is audited (``recordings.sftp.changed``, ``recordings.sftp.host_key_pinned``).
The copying itself is :mod:`controlplane.jobs.recordings_sftp`, every minute.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.jobs.recordings_sftp import pending
from controlplane.models import Role
from controlplane.models.recording_sftp import DIR_MAX, HOST_MAX, RecordingSftp
from controlplane.models.recordings import CallRecording
from controlplane.recordings import sftp
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.errors import BadParameter, PanelError
from web.schemas.common import ONE_LINE, Body, Form
from web.services import services
from web.validation import parse_form, validated

bp = Blueprint("recordings_sftp", __name__)

class Conflicting(PanelError):
    status = 409
    error_id = "conflict"


HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
USER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SftpBody(Body):
    enabled: bool
    host: Annotated[str, Field(max_length=HOST_MAX), ONE_LINE]
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    username: Annotated[str, Field(max_length=64), ONE_LINE]
    remote_dir: Annotated[str, Field(min_length=1, max_length=DIR_MAX), ONE_LINE] = "recordings"


class SftpForm(Form):
    enabled: Annotated[str, Field(max_length=3)] = ""
    host: Annotated[str, Field(max_length=HOST_MAX), ONE_LINE] = ""
    port: Annotated[str, Field(max_length=5), ONE_LINE] = "22"
    username: Annotated[str, Field(max_length=64), ONE_LINE] = ""
    remote_dir: Annotated[str, Field(max_length=DIR_MAX), ONE_LINE] = "recordings"


def _checked(body: SftpBody) -> SftpBody:
    host = body.host.strip()
    if not HOST.match(host):
        raise BadParameter("host", _("a host name or an IP address (sftp.example.com)"))
    if not USER.match(body.username):
        raise BadParameter("username", _("letters, digits, dot, dash and underscore (1–64)"))
    folder = body.remote_dir.strip()
    if ".." in folder.split("/") or "\\" in folder or not folder:
        raise BadParameter("remote_dir", _("a folder on the server, without '..'"))
    return body.model_copy(update={"host": host, "remote_dir": folder})


def _row(s: Any, tenant_id: int) -> RecordingSftp:
    row = s.get(RecordingSftp, tenant_id)
    if row is None:
        row = RecordingSftp(tenant_id=tenant_id, enabled=False, host="", port=22, username="",
                            remote_dir="recordings", host_key="", public_key="", last_error="")
        s.add(row)
    if not row.public_key:
        row.public_key = sftp.ensure_key(services().settings.runtime_dir, tenant_id)
    return row


def _json(s: Any, row: RecordingSftp) -> dict[str, Any]:
    waiting = (len(pending(s, row.tenant_id, 10_000)) if row.enabled else
               s.scalar(select(func.count()).select_from(CallRecording).where(
                   CallRecording.tenant_id == row.tenant_id, CallRecording.status == "done")))
    return {"enabled": row.enabled, "host": row.host, "port": row.port,
            "username": row.username, "remote_dir": row.remote_dir,
            "public_key": row.public_key, "host_key_fingerprint": sftp.fingerprint(row.host_key),
            "last_ok_at": row.last_ok_at.isoformat() if row.last_ok_at else None,
            "last_error": row.last_error, "waiting": waiting}


def _settings() -> dict[str, Any]:
    with transaction(services().sessions) as s:
        return _json(s, _row(s, current_user().tenant_id))


def _save(body: SftpBody) -> dict[str, Any]:
    body, me = _checked(body), current_user()
    with transaction(services().sessions) as s:
        row = _row(s, me.tenant_id)
        if (row.host, row.port) != (body.host, body.port):
            row.host_key = ""  # another server: its key must be confirmed again
        if body.enabled and not row.host_key:
            raise Conflicting(_("Test the connection first: copying starts once the server's "
                                "host key is confirmed."))
        row.enabled, row.host, row.port = body.enabled, body.host, body.port
        row.username, row.remote_dir = body.username, body.remote_dir
        audit.record(s, "recordings.sftp.changed", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail={"enabled": body.enabled, "host": body.host,
                                                      "port": body.port})
        return _json(s, row)


def _test() -> dict[str, Any]:
    me, settings = current_user(), services().settings
    with transaction(services().sessions) as s:
        row = _row(s, me.tenant_id)
        if not row.host or not row.username:
            raise Conflicting(_("Save the server's address and user first."))
        target = sftp.Target(row.host, row.port, row.username, row.host_key)
    pinned = ""
    try:
        if not target.host_key:
            pinned = sftp.probe(target, settings.sftp_allow_private)
            target = sftp.Target(target.host, target.port, target.username, pinned)
        with sftp.session(settings.runtime_dir, me.tenant_id, target,
                          settings.sftp_allow_private) as client:
            client.listdir(".")
        ok, message = True, _("Connected and logged in.")
    except sftp.SftpError as err:
        ok, message = False, str(err)
    with transaction(services().sessions) as s:
        row = _row(s, me.tenant_id)
        if pinned and not row.host_key and (row.host, row.port) == (target.host, target.port):
            row.host_key = pinned
            audit.record(s, "recordings.sftp.host_key_pinned", tenant_id=me.tenant_id,
                         actor=me.address, source=client_address(),
                         detail={"host": row.host, "fingerprint": sftp.fingerprint(pinned)})
        row.last_error = "" if ok else message[:500]
        return {"ok": ok, "message": message, **_json(s, row)}


@bp.get("/api/v1/recordings/sftp")
@login_required(Role.ADMIN)
@validated()
def api_sftp() -> Any:
    """The tenant's SFTP copy settings and state."""
    return jsonify(_settings())


@bp.put("/api/v1/recordings/sftp")
@login_required(Role.ADMIN)
@validated(body=SftpBody)
def api_set_sftp(body: SftpBody) -> Any:
    """Set the server; audited."""
    return jsonify(_save(body))


@bp.post("/api/v1/recordings/sftp/test")
@login_required(Role.ADMIN)
@validated()
def api_test_sftp() -> Any:
    """Connect, pin the host key if none is pinned, log in; ``ok`` and the reason."""
    return jsonify(_test())


@bp.get("/recordings/sftp")
@login_required(Role.ADMIN)
def page() -> str:
    return render_template("recordings_sftp.html", conf=_settings())


@bp.post("/recordings/sftp")
@login_required(Role.ADMIN)
def save() -> BaseResponse:
    form = parse_form(SftpForm)
    if not form.port.strip().isdigit() or not 1 <= int(form.port) <= 65535:
        raise BadParameter("port", _("a port number from 1 to 65535"))
    _save(SftpBody(enabled=form.enabled == "on", host=form.host, port=int(form.port),
                   username=form.username, remote_dir=form.remote_dir))
    flash(_("Saved."), "ok")
    return redirect(url_for("recordings_sftp.page"))


@bp.post("/recordings/sftp/test")
@login_required(Role.ADMIN)
def test() -> BaseResponse:
    result = _test()
    flash(result["message"], "ok" if result["ok"] else "error")
    return redirect(url_for("recordings_sftp.page"))
