"""Downloading an e-mail's attachments from a ticket (page and API), with the Flask test
client on the panel's SQLite: the files are stored as the mail reader stores them
(:func:`controlplane.desk.email.reader.store_attachments`); only who may see the ticket
gets them, under a safe name and their own type; anything else is 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from controlplane.db import transaction
from controlplane.desk import attachments
from controlplane.desk.email import parse, reader
from controlplane.models.tickets import TicketMessage

from .conftest import do_login
from .test_web_desk_tickets import ACME, AGENT, SUPERVISOR, Desk, _h, desk, sessions  # noqa: F401

_ = (desk, sessions)  # fixtures
PDF = b"%PDF-1.4 faktura"
EVIL = 'a"b\r\nSet-Cookie: x=1;../../Faktura 12\u202e.pdf'


def attach(app: Any, desk: Desk, ticket_id: int, *files: parse.Attachment) -> int:
    """Store ``files`` on the ticket's first message as the reader does; its id."""
    runtime = app.extensions["centrala"].settings.runtime_dir
    with transaction(desk.sessions) as s:
        m = s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)).first()
        m.meta = {**(m.meta or {}), "attachments": reader.store_attachments(
            runtime, desk.tenant_id, ticket_id, m.id, files)}
        return int(m.id)


def get(client: Any, path: str) -> Any:
    """GET ``path`` and close the response (a file response holds its file open)."""
    resp = client.get(path)
    resp.get_data()
    resp.close()
    return resp


def url(ticket_id: int, message_id: int, index: int, api: bool = True) -> str:
    path = f"/tickets/{ticket_id}/messages/{message_id}/attachments/{index}"
    return ("/api/v1" + path) if api else path


def test_an_agent_who_sees_the_ticket_downloads_its_attachments(  # type: ignore[no-untyped-def]
        app, client, login, desk: Desk) -> None:
    tid = desk.ticket("Faktura", queue_id=desk.queue("agent1"))
    mid = attach(app, desk, tid, parse.Attachment("faktura.pdf", "application/pdf", PDF),
                 parse.Attachment("Zdjęcie ściany.JPG", "", b"\xff\xd8jpeg"))
    login(AGENT)
    listed = client.get(f"/api/v1/tickets/{tid}").get_json()["messages"][0]["attachments"]
    assert [(a["index"], a["name"], a["type"], a["size"]) for a in listed] == [
        (0, "faktura.pdf", "application/pdf", len(PDF)),
        (1, "Zdjęcie ściany.JPG", "image/jpeg", 6)]  # no type declared: from the name
    for api in (True, False):
        resp = get(client, url(tid, mid, 0, api))
        assert resp.status_code == 200 and resp.data == PDF
        assert resp.mimetype == "application/pdf"
        assert resp.headers["Content-Disposition"] == "attachment; filename=faktura.pdf"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in resp.headers["Cache-Control"]
    resp = get(client, url(tid, mid, 1))
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert "filename*=UTF-8''Zdj%C4%99cie%20%C5%9Bciany.JPG" in resp.headers["Content-Disposition"]
    page = client.get(f"/tickets/{tid}").get_data(as_text=True)
    assert f'href="{url(tid, mid, 0, api=False)}"' in page and "faktura.pdf" in page


def test_a_hostile_name_becomes_a_safe_one(app, client, login, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    tid = desk.ticket("Zły plik")
    mid = attach(app, desk, tid, parse.Attachment(EVIL, "text/html", b"<script>x</script>"),
                 parse.Attachment("x.bin", "text/html\r\nX-Evil: 1", b"data"))
    login(SUPERVISOR)
    resp = get(client, url(tid, mid, 0))
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition
    assert "\n" not in disposition and "/" not in disposition and '"b' not in disposition
    assert "Set-Cookie" not in resp.headers and "%E2%80%AE" not in disposition  # no RTL override
    assert resp.mimetype == "text/html"  # its own type, but never shown inline
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    other = get(client, url(tid, mid, 1))
    assert other.mimetype == "application/octet-stream" and "X-Evil" not in other.headers


@pytest.mark.parametrize(("name", "safe"), [
    ("faktura.pdf", "faktura.pdf"),
    ("C:\\Users\\jan\\umowa.docx", "umowa.docx"),
    ("../../etc/passwd", "passwd"),
    ('a"b;c.txt', "a_b_c.txt"),
    ("", "attachment"),
    ("...", "attachment"),
    ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ("ok\u0000\u202ename.txt", "okname.txt"),
])
def test_safe_names(name: str, safe: str) -> None:
    assert attachments.safe_name(name) == safe


def test_everyone_else_gets_not_found(app, client, login, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    hidden = desk.ticket("Cudze", queue_id=desk.queue("agent2"))
    mid = attach(app, desk, hidden, parse.Attachment("tajne.pdf", "application/pdf", PDF))
    seen = desk.ticket("Moje", queue_id=desk.queue("agent1"))
    own = attach(app, desk, seen, parse.Attachment("moje.pdf", "application/pdf", PDF))
    login(AGENT)
    assert get(client, url(hidden, mid, 0)).status_code == 404  # not one of the agent's queues
    assert get(client, url(hidden, mid, 0, api=False)).status_code == 404
    assert get(client, url(seen, mid, 0)).status_code == 404  # a message of another ticket
    assert get(client, url(seen, own, 1)).status_code == 404  # no such attachment
    err = get(client, url(seen, own, 5)).get_json()["error"]
    assert err["id"] == "attachment_not_found"
    assert get(client, url(seen, own, 0)).status_code == 200
    # a stored path that leads outside the tenant's folder, or a file gone: not found
    with transaction(desk.sessions) as s:
        m = s.get_one(TicketMessage, own)
        entry = m.meta["attachments"][0]
        m.meta = {**m.meta, "attachments": [
            {**entry, "file": "centrala.db"},
            {**entry, "file": entry["file"].replace(f"/{desk.tenant_id}/", "/999/")},
            {**entry, "file": entry["file"] + ".gone"}]}
    for index in range(3):
        assert get(client, url(seen, own, index)).status_code == 404
    # another tenant never gets it (its own tickets have other ids)
    other = app.test_client()
    do_login(other, ACME)
    assert get(other, url(hidden, mid, 0)).status_code == 404
    # logged out: the API says 401, the page sends to the login form
    anon = app.test_client()
    assert get(anon, url(hidden, mid, 0)).status_code == 401
    assert get(anon, url(hidden, mid, 0, api=False)).status_code == 302


def test_merged_tickets_attachments_download_from_the_thread(  # type: ignore[no-untyped-def]
        app, client, login, csrf, desk: Desk) -> None:
    first = desk.ticket("Pierwsze", sender="jan@klient.pl")
    second = desk.ticket("Drugie", sender="jan@klient.pl")
    mid = attach(app, desk, first, parse.Attachment("skan.pdf", "application/pdf", PDF))
    login(SUPERVISOR)
    assert client.post(f"/api/v1/tickets/{first}/merge", headers=_h(client, csrf),
                       json={"into": second}).status_code == 200
    resp = get(client, url(second, mid, 0))
    assert resp.status_code == 200 and resp.data == PDF
