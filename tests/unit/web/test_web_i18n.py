"""The panel speaks the tenant's language and shows times in its zone (web.i18n, web.labels)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from web import i18n, labels

PO = Path(i18n.__file__).parent / "translations" / "pl" / "LC_MESSAGES" / "messages.po"


def test_a_polish_tenant_gets_polish_pages(client: FlaskClient, login: Callable[..., object]) -> None:
    login("szef@polska.example")  # the fixture's Polish tenant (demo and acme read English)
    page = client.get("/calls/live").get_data(as_text=True)
    assert '<html lang="pl">' in page
    assert ">Połączenia na żywo</a>" in page and ">Live calls</a>" not in page
    assert "Administrator" in page  # the role's label, not its value


def test_times_are_shown_in_the_tenant_zone_for_its_language(app: Flask) -> None:
    winter = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)  # CET: UTC+1
    summer = datetime(2026, 7, 15, 12, 30, tzinfo=UTC)  # CEST: UTC+2
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        assert i18n.local_time(winter) == "15.01.2026, 13:30"
        assert i18n.local_time(summer) == "15.07.2026, 14:30"
        assert i18n.local_time(None) == "—"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.local_time(winter).startswith("1/15/26, 1:30")


def test_every_internal_value_has_a_label_in_both_languages(app: Flask) -> None:
    with PO.open("rb") as f:
        polish = {m.id: m.string for m in read_po(f) if m.id}
    for kind, enum in labels.LABELLED_ENUMS.items():
        for member in enum:
            with app.test_request_context(), force_locale("en"):
                english = labels.label(member, kind)
            assert english != member.value, f"{kind}.{member.value} has no label"
            assert polish.get(english), f"{kind}.{member.value} ({english!r}) has no Polish"
    with app.test_request_context(), force_locale("pl"):
        assert labels.label("on_call", "agent_status") == "Rozmowa"
        assert labels.label("no-such-value", "agent_status") == "no-such-value"


def test_catalogs_compile_once_and_again_when_the_po_changes(tmp_path: Path) -> None:
    src = tmp_path / "src" / "pl" / "LC_MESSAGES"
    src.mkdir(parents=True)
    po = src / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Queues"\nmsgstr "Kolejki"\n', encoding="utf-8")
    out = i18n.compile_catalogs(tmp_path / "src", tmp_path / "out")
    mo = out / "pl" / "LC_MESSAGES" / "messages.mo"
    first = mo.stat().st_mtime_ns
    i18n.compile_catalogs(tmp_path / "src", tmp_path / "out")
    assert mo.stat().st_mtime_ns == first
    po.write_text(po.read_text(encoding="utf-8").replace("Kolejki", "Kolejki!"), encoding="utf-8")
    os.utime(po, ns=(first + 10**9, first + 10**9))
    i18n.compile_catalogs(tmp_path / "src", tmp_path / "out")
    assert b"Kolejki!" in mo.read_bytes()
