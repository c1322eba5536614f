"""Every page in Polish and English (issue 12 items 11-12): translated templates, a complete
catalog, the language choice, times in the tenant's zone, names instead of ids, and the
newcomer's fixes (actions by state, landing page, confirmations, late command replies)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.acd.http.agents import took_effect
from controlplane.bus import COMMANDS_STREAM, acd_key
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.campaigns import Campaign, CampaignRecord, DialAttempt
from controlplane.models.contacts import Contact, ContactPhone
from web import i18n

ROOT = Path(i18n.__file__).parent.parent
PO = ROOT / "web" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
STATIC = ROOT / "web" / "static"
POLISH_ADMIN = "szef@polska.example"
POLISH_AGENT = "agentka@polska.example"
DEMO_ADMIN = "admin@demo.centrala.local"
DEMO_AGENT = "agent1@demo.centrala.local"


def _catalog() -> dict[object, object]:
    """msgid (with its msgctxt, when it has one) → msgstr."""
    with PO.open("rb") as f:
        return {(m.context, m.id) if m.context else m.id: m.string for m in read_po(f) if m.id}


def test_every_text_of_the_panel_has_a_polish_translation() -> None:
    """What ``make messages`` would extract (babel.cfg) is all in the catalog, translated."""
    polish = _catalog()
    method_map = [("controlplane/**.py", "python"), ("web/**.py", "python"),
                  ("web/templates/**.html", "jinja2")]
    missing, empty = [], []
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=method_map
    ):
        key = message if isinstance(message, str) else tuple(message)
        if context:
            key = (context, key)
        if key not in polish:
            missing.append((filename, key))
        elif not (all(polish[key]) if isinstance(polish[key], tuple | list) else polish[key]):
            empty.append((filename, key))
    assert not missing, f"not in messages.po (run make messages): {missing}"
    assert not empty, f"no Polish yet: {empty}"


def test_no_msgstr_is_empty() -> None:
    for msgid, msgstr in _catalog().items():
        strings = msgstr if isinstance(msgstr, tuple | list) else [msgstr]
        assert all(strings), f"{msgid!r} has no Polish"


def test_no_template_text_is_left_unwrapped() -> None:
    """A rough guard: a header cell or a button with plain English text is a forgotten _()."""
    bare = re.compile(r"<(th|button|h1|h2|legend)[^>]*>\s*[A-Z][a-z]+[^<{]*<")
    found = []
    for path in sorted((ROOT / "web" / "templates").glob("*.html")):
        found += [(path.name, m.group(0)) for m in bare.finditer(path.read_text())]
    assert not found, found


@pytest.mark.parametrize(
    ("path", "polish"),
    [
        ("/calls/records", ["Rejestr połączeń", "Przyczyna rozłączenia", "Filtruj"]),
        ("/calls/live", ["Brak trwających połączeń.", "Kierunek"]),
        ("/queues", ["Nowa kolejka", "Powody przerw", "Strategia"]),
        ("/queues/new", ["Czas dzwonienia (s)", "Po kolei w kółko", "Zapisz kolejkę"]),
        ("/queues/breaks", ["Dodaj powód przerwy", "Wymaga zatwierdzenia"]),
        ("/queues/wallboard", ["Tablica kolejek", "Poziom obsługi", "Obsługa po rozmowie"]),
        ("/agents", ["Agenci", "Działania", "Mój status"]),
        ("/users", ["Użytkownicy", "Rola", "Szef Zmiany", "Agent"]),
        ("/campaigns", ["Kampanie", "Nie ma jeszcze kampanii."]),
        ("/campaigns/mine", ["Rozmowy czekające na kwalifikację"]),
        ("/ivr", ["Scenariusze IVR", "Wgraj scenariusz"]),
        ("/outbound-policy", ["Zasady połączeń wychodzących", "numery zagraniczne"]),
        ("/security/sip-bans", ["Blokady SIP", "Brak aktywnych blokad."]),
        ("/health", ["Stan systemu", "Element"]),
        ("/account/password", ["Zmiana hasła", "Język panelu", "Domyślny dla organizacji"]),
    ],
)
def test_pages_render_in_polish_for_a_polish_tenant(  # type: ignore[no-untyped-def]
    client: FlaskClient, login: Callable[..., object], path: str, polish: list[str]
) -> None:
    login(POLISH_ADMIN)
    resp = client.get(path)
    page = resp.get_data(as_text=True)
    assert resp.status_code in (200, 503), page  # 503: a page whose live data is down
    assert '<html lang="pl">' in page
    for text in polish:
        assert text in page, f"{path}: {text!r} missing"


def test_the_agent_page_in_polish_shows_labels_not_values(
    client: FlaskClient, login: Callable[..., object]
) -> None:
    login(POLISH_AGENT)
    page = client.get("/agent").get_data(as_text=True)
    assert "Mój status agenta" in page
    assert 'data-field="status_label">Wylogowany<' in page  # the raw value is a hidden field
    assert re.search(r"<span hidden data-field=\"status\">logged_out<", page)


def test_the_login_page_follows_the_browser_and_the_switch(app: Flask) -> None:
    with app.test_client() as c:
        assert "Zaloguj" in c.get("/login").get_data(as_text=True)  # Polish by default
        english = c.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert ">Log in</h1>" in english.get_data(as_text=True)
        switched = c.get("/login?lang=pl", headers={"Accept-Language": "en"})
        assert "Zaloguj" in switched.get_data(as_text=True)
        assert "centrala_lang=pl" in switched.headers["Set-Cookie"]
        # The cookie now wins over the browser's language, on the next visit too.
        assert "Zaloguj" in c.get("/login", headers={"Accept-Language": "en"}).get_data(
            as_text=True)
        assert 'href="/login?lang=en"' in switched.get_data(as_text=True)
        assert c.get("/login?lang=xx").status_code == 200  # an unknown language is ignored


def test_a_user_picks_a_language_on_the_account_page(  # type: ignore[no-untyped-def]
    client: FlaskClient, login: Callable[..., object], csrf
) -> None:
    login(POLISH_ADMIN)
    resp = client.post("/account/language", data={"csrf_token": csrf(client), "locale": "en"},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert '<html lang="en">' in page and "language saved" in page
    assert '<option value="en" lang="en" selected>' in page
    assert '<html lang="en">' in client.get("/queues").get_data(as_text=True)
    resp = client.post("/account/language", data={"csrf_token": csrf(client), "locale": ""},
                       follow_redirects=True)
    assert '<html lang="pl">' in resp.get_data(as_text=True)
    assert "język zapisany" in resp.get_data(as_text=True)
    bad = client.post("/account/language", data={"csrf_token": csrf(client), "locale": "de"})
    assert bad.status_code == 400


def test_times_show_in_the_tenant_zone_with_the_utc_moment_kept(app: Flask) -> None:
    at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Warsaw (CET)
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        tag = str(i18n.time_tag(at))
        assert ">1.03.2025, 09:00</time>" in tag
        assert 'datetime="2025-03-01T08:00:00Z"' in tag and 'title="2025-03-01 08:00:00 UTC"' in tag
        assert ">1.03.2025, 09:00<" in str(i18n.time_tag("2025-03-01T08:00:00+00:00"))
        assert i18n.local_time(at.timestamp()) == "1.03.2025, 09:00"
        assert str(i18n.time_tag(None)) == "—"
        assert i18n.duration(65) == "1 min 05 s" and i18n.duration(3720) == "1 h 02 min"
        assert i18n.duration(7) == "7 s"


def test_records_show_local_times_and_labels(
    client: FlaskClient, login: Callable[..., object]
) -> None:
    login(DEMO_ADMIN)  # English tenant in UTC (the fixture's)
    page = client.get("/calls/records?per_page=50").get_data(as_text=True)
    assert re.search(r">3/8/25, 2:00\s?PM</time>", page)  # 14:00 UTC, English format
    assert ">Inbound<" in page and ">inbound<" not in page


def test_agents_land_on_their_own_page(app: Flask, login_form) -> None:  # type: ignore[no-untyped-def]
    with app.test_client() as c:
        assert login_form(c, DEMO_AGENT).headers["Location"] == "/agent"
    with app.test_client() as c:
        assert login_form(c, DEMO_ADMIN).headers["Location"] == "/calls/records"


def _visible_commands(page: str) -> set[str]:
    forms = re.findall(r'<form method="post" action="/agent"[^>]*>.*?</form>', page, re.S)
    return {re.search(r'name="command" value="(\w+)"', f).group(1)  # type: ignore[union-attr]
            for f in forms if " hidden>" not in f.split("\n", 1)[0] + ">"
            and not re.match(r"<form[^>]*\shidden[\s>]", f)}


def test_the_agent_page_offers_only_what_the_state_allows(  # type: ignore[no-untyped-def]
    client: FlaskClient, login: Callable[..., object], redis_client, world
) -> None:
    login(DEMO_AGENT)
    assert _visible_commands(client.get("/agent").get_data(as_text=True)) == {"login"}
    agent1 = client.get("/api/v1/agents/me").get_json()["agent"]["user_id"]
    redis_client.hset(acd_key(world.demo_tenant, "agents"), str(agent1),
                      '{"status": "ready", "since": 1800000000, "endpoint": "x"}')
    assert _visible_commands(client.get("/agent").get_data(as_text=True)) == {
        "break", "logout"}
    redis_client.hset(acd_key(world.demo_tenant, "agents"), str(agent1),
                      '{"status": "break", "reason": "1", "since": 1800000000}')
    assert _visible_commands(client.get("/agent").get_data(as_text=True)) == {
        "ready", "break", "logout"}
    # ... and the stylesheet lets "hidden" win over the inline forms' display.
    css = (STATIC / "style.css").read_text()
    assert re.search(r"\[hidden\]\s*\{\s*display:\s*none\s*!important", css)


def test_dangerous_buttons_confirm_and_look_it(  # type: ignore[no-untyped-def]
    client: FlaskClient, login: Callable[..., object]
) -> None:
    login(DEMO_ADMIN)
    page = client.get("/users").get_data(as_text=True)  # the admin's own session: a row
    forms = re.findall(r"<form[^>]*data-confirm=\"[^\"]+\"[^>]*>.*?</form>", page, re.S)
    assert forms and all('class="danger"' in f for f in forms)
    assert "confirm.js" in page
    for name in ("queues.html", "breaks.html"):  # the delete buttons, whatever the data
        source = (ROOT / "web" / "templates" / name).read_text()
        assert "data-confirm=" in source and '<button type="submit" class="danger">' in source
    script = (STATIC / "confirm.js").read_text()
    assert "data-confirm" in script or "dataset.confirm" in script
    assert "window.confirm" in script and "preventDefault" in script


def test_the_attempts_page_shows_names_and_local_times(  # type: ignore[no-untyped-def]
    app: Flask, client: FlaskClient, login: Callable[..., object], world
) -> None:
    at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    with transaction(app.extensions["centrala"].sessions) as s:
        agent = s.scalar(select(User).where(User.login == "agentka"))
        assert agent is not None
        tenant = agent.tenant_id
        camp = Campaign(tenant_id=tenant, name="Wiosna", mode="preview", status="running",
                        caller_id_mode="fixed", fixed_caller_id="+48221000099")
        contact = Contact(tenant_id=tenant, first_name="Jan")
        s.add_all([camp, contact])
        s.flush()
        phone = ContactPhone(tenant_id=tenant, contact_id=contact.id, number="+48600100200")
        s.add(phone)
        s.flush()
        rec = CampaignRecord(tenant_id=tenant, campaign_id=camp.id, contact_id=contact.id,
                             phone_id=phone.id, outcome_counts={}, state="done")
        s.add(rec)
        s.flush()
        made = DialAttempt(tenant_id=tenant, campaign_id=camp.id, record_id=rec.id,
                           number="+48600100200", agent_user_id=agent.id, mode="preview",
                           dial_at=at, ended_at=at, outcome="human")
        s.add(made)
        s.flush()
        camp_id, made_id = camp.id, made.id
    login(POLISH_ADMIN)
    page = client.get(f"/campaigns/{camp_id}/attempts").get_data(as_text=True)
    row = page.split(f'id="attempt-{made_id}"', 1)[1].split("</tr>", 1)[0]
    # the agent column (after the mode) holds a name; the row's other cells hold ids that
    # may equal the agent's id, so only that cell is checked
    assert "<td>Podgląd</td><td>Anna Nowak</td>" in row, row
    assert ">1.03.2025, 09:00</time>" in row  # Warsaw time, Polish format
    assert "Odebrał człowiek" in row and "Podgląd" in row  # labels, not "human", "preview"
    assert "2025-03-01T08:00:00<" not in row  # no ISO stamps shown


def test_took_effect_reads_the_agent_state_change() -> None:
    out = {"status": "logged_out", "pending_break": None, "deferred": None}
    ready = {**out, "status": "ready"}
    assert took_effect("login", out, ready) and not took_effect("login", out, out)
    assert took_effect("ready", {**out, "status": "break"}, ready)
    assert took_effect("logout", ready, out) and not took_effect("logout", out, out)
    assert took_effect("break", ready, {**ready, "pending_break": "2"})
    assert took_effect("cancel_break", {**ready, "pending_break": "2"}, ready)
    assert not took_effect("cancel_break", ready, ready)


def test_a_late_reply_is_not_reported_as_a_timeout(  # type: ignore[no-untyped-def]
    app: Flask, client: FlaskClient, login: Callable[..., object], csrf, redis_client, world
) -> None:
    """A busy daemon carries the command out but answers after the panel stopped waiting:
    the agent's mirrored state shows it was done, so the panel says so."""
    app.config["ACD_COMMAND_TIMEOUT_S"] = 0.5
    login(DEMO_AGENT)
    agent1 = client.get("/api/v1/agents/me").get_json()["agent"]["user_id"]
    key = acd_key(world.demo_tenant, "agents")
    stop = threading.Event()

    def slow_daemon() -> None:  # does the work (the mirror) and never answers in time
        while not stop.is_set():
            if redis_client.xlen(COMMANDS_STREAM):
                redis_client.hset(key, str(agent1), '{"status": "ready", "since": 1800000000}')
                return
            stop.wait(0.02)

    worker = threading.Thread(target=slow_daemon, daemon=True)
    worker.start()
    try:
        resp = client.post(f"/api/v1/agents/{agent1}/command", json={"command": "login"},
                           headers={"X-CSRF-Token": csrf(client)})
    finally:
        stop.set()
        worker.join(5)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["result"]["status"] == "ready"
    # Nothing changed this time: that is still the clear 503 of a daemon that is down.
    resp = client.post(f"/api/v1/agents/{agent1}/command", json={"command": "login"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 503


def test_every_stored_value_shown_has_a_label_in_both_languages(app: Flask) -> None:
    from flask_babel import force_locale

    from web import labels

    polish = _catalog()
    for kind, values in labels.LABELLED_VALUES.items():
        for value in values:
            with app.test_request_context(), force_locale("en"):
                english = labels.label(value, kind)
            assert english != value, f"{kind}.{value} has no label"
            assert polish.get(english), f"{kind}.{value} ({english!r}) has no Polish"
