"""A website visitor chats with an agent, routed by the real daemon (issue 14's done-means).

Chromium: a shop's page on another origin carries the one ``<script>`` tag; the agent
(a desk-phone agent, ready, also a member of a voice queue) has the chat console open; the
visitor opens the widget, fills the pre-chat form and writes; the daemon's ACD offers the
chat to the agent (no fake router: ``chat.enqueue`` → the live ACD → ``chat.offered``); the
agent accepts and replies; the visitor sees the reply; the whole conversation is the
transcript of a ticket.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from helpers import free_port, panel_process, until
from labtools import agents_on_phones, latest_status, reload_acd, session_factory
from sqlalchemy import delete, select

from controlplane import bus
from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.acd_channels import AcdChannelSettings
from controlplane.models.chat import Chat, ChatMessage
from controlplane.models.chat_widgets import ChatWidget
from controlplane.models.tickets import Ticket, TicketMessage
from controlplane.passwords import hash_password
from controlplane.security import panel_sessions
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
PHONES = {"chatlive": "demo-1006"}
PASSWORD = "Chat-" + secrets.token_hex(6)


@pytest.fixture
def shop(platform, tmp_path: Path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    factory = session_factory(platform)
    panel_port, page_port = free_port(), free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.get_one(User, users["chatlive"]).password_hash = hash_password(PASSWORD)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id,
                                      Queue.name.in_(("czat-live", "glos-live"))))
        chat_q = Queue(tenant_id=tenant_id, name="czat-live", announce_every_s=None)
        voice_q = Queue(tenant_id=tenant_id, name="glos-live", announce_every_s=None)
        s.add_all([chat_q, voice_q])
        s.flush()
        for q in (chat_q, voice_q):  # the agent takes calls as well as chats
            s.add(QueueMember(queue_id=q.id, user_id=users["chatlive"], penalty=0))
        widget = ChatWidget(tenant_id=tenant_id, key="cw_live_" + secrets.token_hex(3),
                            identity_secret="x" * 64, name="Sklep", title="Sklep Kowalski",
                            color="#0b6e4f", origins=[page_origin], queue_id=chat_q.id,
                            greetings={"new": "Dzień dobry! Jak możemy pomóc?"},
                            form_fields={"name": "required", "email": "optional",
                                         "phone": "off"}, hours=None, survey=True, active=True)
        s.add(widget)
        s.flush()
        ids = {"chat_q": chat_q.id, "voice_q": voice_q.id, "widget": widget.id,
               "key": widget.key, "agent": users["chatlive"], "tenant": tenant_id}
    reload_acd(platform, tenant_id)
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='pl'><head><meta charset='utf-8'><title>Sklep</title></head>"
        "<body><h1>Sklep Kowalski</h1>"
        f"<script src='http://127.0.0.1:{panel_port}/chat/widget.js' data-key='{ids['key']}'"
        " async></script></body></html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    page_server = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{panel_port}"
    env = {**os.environ, "CENTRALA_WEB_PORT": str(panel_port)}
    panels = contextlib.ExitStack()  # the panel running now (the test restarts it)

    def start() -> None:
        panels.enter_context(panel_process(env, tmp_path / "web.log", base))

    def stop() -> None:
        panels.close()

    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    start()
    try:
        yield {**ids, "panel": base, "page": page_origin + "/index.html", "redis": client,
               "stop_panel": stop, "start_panel": start}
    finally:
        stop()
        page_server.shutdown()
        page_server.server_close()
        # the chat ends in the ACD first (the visitor leaves): an agent holding a chat only
        # logs out once it ends, and would keep the desk phone for later files' agents
        with session_factory(platform)() as s:
            open_chats = list(s.scalars(select(Chat.id).where(
                Chat.queue_id == ids["chat_q"],
                Chat.status.in_(("waiting", "offered", "active")))))
        for chat_id in open_chats:
            bus.send_chat_command(client, "leave", tenant_id=ids["tenant"], chat_id=chat_id)

        def logged_out() -> bool:
            with contextlib.suppress(bus.CommandError, redis.RedisError):
                bus.send_agent_command(client, ids["tenant"], ids["agent"], "logout",
                                       timeout_s=3, actor_id=ids["agent"])
            # None: never logged in (the test did not get that far)
            return latest_status(platform, ids["agent"]) in (None, "logged_out")

        until(logged_out, timeout=60, interval=1, what="the chat agent logged out")
        client.close()
        with transaction(factory) as s:
            chats = list(s.scalars(select(Chat.id).where(Chat.queue_id == ids["chat_q"])))
            tickets = list(s.scalars(select(Chat.ticket_id).where(Chat.id.in_(chats))))
            s.execute(delete(ChatMessage).where(ChatMessage.chat_id.in_(chats)))
            s.execute(delete(Chat).where(Chat.id.in_(chats)))
            s.execute(delete(Ticket).where(Ticket.id.in_([t for t in tickets if t])))
            s.execute(delete(ChatWidget).where(ChatWidget.id == ids["widget"]))
            s.execute(delete(Queue).where(Queue.id.in_((ids["chat_q"], ids["voice_q"]))))
        reload_acd(platform, ids["tenant"])
        factory.kw["bind"].dispose()


def test_a_visitor_chats_with_the_ready_agent_through_the_daemon(platform, shop) -> None:  # type: ignore[no-untyped-def]
    expect = sync_api.expect
    agent_cmd = functools.partial(bus.send_agent_command, shop["redis"], shop["tenant"],
                                  shop["agent"], timeout_s=3, actor_id=shop["agent"])
    assert agent_cmd("login")["ok"]
    until(lambda: agent_cmd("ready")["status"] == "ready", timeout=15, what="agent ready")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            actx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="pl-PL")
            agent = actx.new_page()
            agent.goto(shop["panel"] + "/login")
            agent.fill("input[name=address]", f"chatlive@{DEMO_DOMAIN}")
            agent.fill("input[name=password]", PASSWORD)
            agent.locator("form button[type=submit]").click()
            agent.wait_for_load_state()
            agent.goto(shop["panel"] + "/agent/chats")
            expect(agent.locator("#chat-console[data-ready='1']")).to_be_attached()

            vctx = browser.new_context(viewport={"width": 1366, "height": 800}, locale="pl-PL")
            visitor = vctx.new_page()
            visitor.goto(shop["page"])
            visitor.get_by_role("button", name="Sklep Kowalski").click()
            visitor.get_by_label("Imię *").fill("Anna")
            visitor.get_by_label("Wiadomość").fill("Czy macie wiertarki?")
            visitor.get_by_role("button", name="Rozpocznij czat").click()
            expect(visitor.locator("#centrala-chat li.visitor")).to_contain_text(
                "Czy macie wiertarki?")
            # the daemon's ACD offers it to the ready agent; the console shows the offer
            agent.get_by_role("button", name="Przyjmij").click(timeout=15_000)
            pane = agent.locator(".chat-pane:visible")
            expect(pane.locator(".chat-log")).to_contain_text("Czy macie wiertarki?")
            pane.locator("textarea").fill("Tak, mamy kilka modeli.")
            pane.get_by_role("button", name="Wyślij").click()
            expect(visitor.locator("#centrala-chat li.agent").last).to_contain_text(
                "Tak, mamy kilka modeli.")
            visitor.get_by_label("Wiadomość").last.fill("Super, dziękuję")
            visitor.keyboard.press("Enter")
            expect(pane.locator(".chat-log")).to_contain_text("Super, dziękuję")
        finally:
            browser.close()
    with session_factory(platform)() as s:
        chat = s.scalar(select(Chat).where(Chat.queue_id == shop["chat_q"]))
        assert chat is not None and (chat.status, chat.agent_user_id) == ("active", shop["agent"])
        bodies = [m.body for m in s.scalars(select(TicketMessage).where(
            TicketMessage.ticket_id == chat.ticket_id).order_by(TicketMessage.id))]
    assert bodies[:3] == ["Czy macie wiertarki?", "Tak, mamy kilka modeli.", "Super, dziękuję"]


def test_the_console_shows_again_what_came_while_it_was_cut_off(platform, shop) -> None:  # type: ignore[no-untyped-def]
    """The panel restarts (a deploy, a network blip): the console's stream reconnects by
    itself and shows the offer made while it was away (replayed from the server's state,
    not lost until the next event); a second tab shows the same."""
    expect = sync_api.expect
    factory = session_factory(platform)
    with transaction(factory) as s:  # the offer outlives the blip
        # a fresh login: the earlier test's browser left a session (one workstation per agent)
        panel_sessions.revoke_user(s, shop["agent"], "test", datetime.now(UTC))
        s.execute(delete(AcdChannelSettings).where(
            AcdChannelSettings.tenant_id == shop["tenant"]))
        s.add(AcdChannelSettings(tenant_id=shop["tenant"], chats_per_agent=1,
                                 voice_with_chats=False, chat_offer_timeout_s=120))
    reload_acd(platform, shop["tenant"])
    agent_cmd = functools.partial(bus.send_agent_command, shop["redis"], shop["tenant"],
                                  shop["agent"], timeout_s=3, actor_id=shop["agent"])
    try:
        assert agent_cmd("login")["ok"]
        until(lambda: agent_cmd("ready")["status"] == "ready", timeout=15, what="agent ready")
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            try:
                ctx = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="pl-PL")
                agent = ctx.new_page()
                agent.goto(shop["panel"] + "/login")
                agent.fill("input[name=address]", f"chatlive@{DEMO_DOMAIN}")
                agent.fill("input[name=password]", PASSWORD)
                agent.locator("form button[type=submit]").click()
                agent.wait_for_load_state()
                agent.goto(shop["panel"] + "/agent/chats")
                expect(agent.locator("#chat-console[data-ready='1']")).to_be_attached()

                shop["stop_panel"]()
                agent.evaluate("document.getElementById('chat-console').dataset.ready = ''")
                with transaction(factory) as s:  # a visitor, as the web side
                    chat = Chat(tenant_id=shop["tenant"], public_id=secrets.token_hex(12),
                                queue_id=shop["chat_q"], visitor_name="Ewa")
                    s.add(chat)
                    s.flush()
                    chat_id = chat.id
                bus.send_chat_command(shop["redis"], "enqueue", tenant_id=shop["tenant"],
                                      chat_id=chat_id)

                def offered() -> bool:
                    with factory() as s:
                        return s.get_one(Chat, chat_id).status == "offered"

                until(offered, timeout=10, what="offered while the panel is down")
                shop["start_panel"]()
                # the console came back by itself and shows the offer made meanwhile
                expect(agent.locator("#chat-console[data-ready='1']")).to_be_attached(
                    timeout=20_000)
                offer = agent.locator(f".chat-offers [data-chat='{chat_id}']")
                expect(offer).to_contain_text("Ewa")
                second = ctx.new_page()  # a second tab: the same offer
                second.goto(shop["panel"] + "/agent/chats")
                expect(second.locator(f".chat-offers [data-chat='{chat_id}']")).to_contain_text(
                    "Ewa")
                offer.get_by_role("button", name="Przyjmij").click()
                expect(agent.locator(".chat-pane:visible .chat-visitor")).to_have_text("Ewa")
                # the other tab drops the offer once the chat is held (its events say so)
                expect(second.locator(f".chat-offers [data-chat='{chat_id}']")).to_have_count(0)
            finally:
                browser.close()
    finally:
        with transaction(factory) as s:
            s.execute(delete(AcdChannelSettings).where(
                AcdChannelSettings.tenant_id == shop["tenant"]))
        reload_acd(platform, shop["tenant"])
        factory.kw["bind"].dispose()
