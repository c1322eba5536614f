"""The ticket page in headless Chromium (Polish, 1366 px): an agent has a ticket open when
an admin opens it and starts typing a reply; the agent's page shows, within seconds and
without a reload, that the admin is there and typing (collision detection through the
page's script, ``web/static/ticket_presence.js``, and the panel's Redis entries).

Screenshots: set ``CENTRALA_SHOTS=<folder>`` to keep the list and the ticket page."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import service
from controlplane.desk.store import Viewer
from controlplane.desk.threads import Inbound, receive
from controlplane.models import Tenant
from controlplane.models.desk import TicketTemplate
from controlplane.models.tickets import Ticket

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
POLSKA = "polska.example"


@pytest.fixture
def ticket(settings: Settings, world: Any) -> Iterator[int]:
    """A Polish tenant's e-mail ticket in its general inbox (every agent sees it), with a
    reply and a private note."""
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    tag = uuid.uuid4().hex[:6]
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == POLSKA))
        assert tenant is not None
        got = receive(s, Inbound(tenant, "email", "jan.kowalski@klient.pl",
                                 "Dzień dobry,\nod rana nie działa nam infolinia.\nJan Kowalski",
                                 subject=f"Infolinia nie odbiera {tag}", sender_name="Jan Kowalski",
                                 external_id=f"<{tag}@klient.pl>"))
        t = s.get_one(Ticket, got.ticket_id)
        v = Viewer(tenant, None, "admin", "agentka@polska.example", "Anna Nowak")
        service.post(s, v, t, "Dzień dobry, sprawdzamy i wracamy z odpowiedzią.")
        service.post(s, v, t, "Klient z umową premium.", note=True)
        service.change(s, v, t, {"priority": "high"})
        ticket_id = t.id
    yield ticket_id
    with transaction(factory) as s:
        s.execute(delete(Ticket).where(Ticket.id == ticket_id))
    engine.dispose()


def _login(page: Any, base: str, address: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=address]", address)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_agent_sees_the_admin_typing_on_the_same_ticket(  # type: ignore[no-untyped-def]
        server: str, password: str, ticket: int) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    shots = os.environ.get("CENTRALA_SHOTS")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            agent = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            admin = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            _login(agent, server, f"agentka@{POLSKA}", password)
            _login(admin, server, f"szef@{POLSKA}", password)
            agent.goto(f"{server}/tickets/{ticket}")
            assert agent.locator("h1").inner_text().startswith("✉ #")
            assert agent.locator("#presence").is_hidden()
            admin.goto(f"{server}/tickets/{ticket}")
            admin.fill("#reply-body", "Dzień dobry, właśnie")
            indicator = agent.locator("#presence")
            indicator.wait_for(state="visible", timeout=15_000)
            sync_api.expect(indicator).to_contain_text("Szef Zmiany (pisze odpowiedź)",
                                                       timeout=15_000)
            # the admin sees the agent viewing (no reply typed)
            sync_api.expect(admin.locator("#presence")).to_contain_text(
                "Anna Nowak (przegląda)", timeout=15_000)
            html = agent.content()
            for text in ("Rozmowa", "Notatka prywatna", "Klient", "Wysoki", "Historia"):
                assert text in html, text
            if shots:
                folder = Path(shots)
                folder.mkdir(parents=True, exist_ok=True)
                agent.screenshot(path=str(folder / "tickets_ticket.png"), full_page=True)
                agent.goto(f"{server}/tickets")
                agent.screenshot(path=str(folder / "tickets_list.png"), full_page=True)
                for name, url in (("setup", "/tickets/setup"), ("rules", "/tickets/rules")):
                    admin.goto(server + url)
                    admin.screenshot(path=str(folder / f"tickets_{name}.png"), full_page=True)
        finally:
            browser.close()


@pytest.fixture
def template(settings: Settings, ticket: int) -> Iterator[str]:
    """A response template of the ticket's tenant, with parameters; its name."""
    factory = make_sessionmaker(make_engine(settings.database_url))
    name = f"Przeprosiny {uuid.uuid4().hex[:6]}"
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == POLSKA))
        row = TicketTemplate(tenant_id=tenant, name=name, body=(
            "Szanowny Panie {{ requester_name }},\nprzepraszamy za kłopot ze zgłoszeniem "
            "nr {{ ticket_number }}.\n{{ agent_name }}"))
        s.add(row)
        s.flush()
        template_id = row.id
    yield name
    with transaction(factory) as s:
        s.execute(delete(TicketTemplate).where(TicketTemplate.id == template_id))


def test_a_template_picked_in_the_reply_box_goes_in_at_the_cursor(  # type: ignore[no-untyped-def]
        server: str, password: str, ticket: int, template: str) -> None:
    """Polish page: the agent starts a reply, picks a template; the rendered template (its
    parameters filled for this ticket and agent) goes in after what was written, which
    stays; the list goes back to "—"."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900},
                                       locale="pl-PL").new_page()
            _login(page, server, f"agentka@{POLSKA}", password)
            page.goto(f"{server}/tickets/{ticket}")
            assert "Szablon odpowiedzi" in page.locator("#reply-form").inner_text()
            page.fill("#reply-body", "Dzień dobry,")
            page.select_option("#template-pick", label=template)
            reply = page.locator("#reply-body")
            sync_api.expect(reply).to_have_value(
                "Dzień dobry,\nSzanowny Panie Jan Kowalski,\nprzepraszamy za kłopot ze "
                f"zgłoszeniem nr {page.locator('h1').inner_text().split('#')[1].split()[0]}.\n"
                "Anna Nowak", timeout=15_000)
            assert page.locator("#template-pick").input_value() == ""
            assert page.locator("#template-error").is_hidden()
            shots = os.environ.get("CENTRALA_SHOTS")
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / "tickets_reply_template.png"),
                                full_page=True)
        finally:
            browser.close()
