"""Issue 12's "Done means": a new tenant onboarded in a real browser, no SQL, one CLI step.

``centrala tenant create`` (the only command) → the activation mail read from a real SMTP
catcher → Chromium (Playwright, Debian's ``chromium``) opens the link and sets the
password → in the panel the admin invites a supervisor and an agent (each activates from
their own mail, in their own browser), creates a phone for the agent, a queue with the
agent as member, a trunk to the lab's second carrier and a DID routed to the queue →
baresip registers with the credentials the panel showed → the agent logs in to the
queues and goes ready on the agent page → a lab caller dials the DID and the call record
says that agent's phone answered.

What is not the product: the lab plays the carrier, so once the tenant's trunk exists
the lab is re-rendered from the database (a real carrier provisions its customer's
account on its side); the mail job runs on an in-process RQ worker, as the webhook test
does. Reading the call record at the end is the check, not a step.

Screenshots: set ``CENTRALA_SHOTS=<folder>`` to keep one of each page (Polish, 1366 px).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import free_port, panel_process, until
from labtools import ended_record, unique_caller
from mailcatcher import Catcher, catcher, link_in  # noqa: F401  (catcher: a fixture)
from redis import Redis
from rq import Queue, SimpleWorker

from controlplane import stack
from dialplan import labcall
from dialplan.lab import baresip_config

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
# The lab carrier's own address is the demo tenant's trunk; 127.0.0.3 is test_trunk_identity's
# "address nobody configured": the new tenant's carrier answers on an address of its own.
SECOND_CARRIER = "127.0.12.2"
PASSWORD = "Onboarding-" + secrets.token_hex(6)


@dataclass(frozen=True)
class World:
    base: str
    domain: str
    mail: Catcher
    settings: object


@pytest.fixture
def world(platform, catcher: Catcher, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A panel server on a free port sending mail to ``catcher`` (the in-process worker
    below reads the same setting)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    monkeypatch.setenv("CENTRALA_SMTP_URL", catcher.url)
    port = free_port()
    env = {**os.environ, "CENTRALA_SMTP_URL": catcher.url, "CENTRALA_WEB_PORT": str(port)}
    base = f"http://{platform.settings.bind_address}:{port}"
    with panel_process(env, tmp_path / "web.log", base):
        yield World(base, f"ob{secrets.token_hex(3)}.example", catcher, platform.settings)


def deliver_mail(settings, box: Catcher, address: str, count: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Run the queued jobs (the mail among them) until ``address`` has ``count`` mails;
    the text of the newest."""
    conn = Redis.from_url(settings.redis_url_for("admin"))
    try:
        def arrived() -> bool:
            SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True)
            return len(box.mails_to(address)) >= count

        until(arrived, timeout=30, interval=0.5, what=f"a mail to {address}")
    finally:
        conn.close()
    return box.mails_to(address)[0].text


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("CENTRALA_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"onboarding-{name}.png"), full_page=True)


def activate(browser, w: World, address: str, count: int = 1):  # type: ignore[no-untyped-def]
    """A fresh browser (a workstation of its own) opens ``address``'s activation link and
    sets the password; activation logs in. Returns the page."""
    text = deliver_mail(w.settings, w.mail, address, count)
    secret = link_in(text, "/activate/")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="pl-PL")
    page = context.new_page()
    page.goto(f"{w.base}/activate/{secret}")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/activate/" not in page.url, page.content()
    return page


def submit(page, url: str, fields: dict[str, str], name: str) -> None:  # type: ignore[no-untyped-def]
    """Open ``url``, fill ``fields`` (text inputs, selects by value, checkboxes "on"),
    save; the form must not come back with errors."""
    page.goto(url)
    for field, value in fields.items():
        element = page.locator(f"form [name={field}]").first
        kind = element.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind.startswith("select"):
            element.select_option(value)
        elif kind == "input:checkbox":
            element.check()
        else:
            element.fill(value)
    shot(page, name)
    page.locator("form.card button[type=submit], form.stack button[type=submit]").first.click()
    page.wait_for_load_state()
    errors = page.locator(".field-error, .flow-error, .alert").all_text_contents()
    assert not errors, f"{url}: {errors}"


def option_value(page, select: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """The value of the option of ``select`` whose label contains ``text``."""
    for option in page.locator(f"select[name={select}] option").all():
        if text in (option.text_content() or ""):
            return str(option.get_attribute("value"))
    raise AssertionError(f"no option {text!r} in {select}")


def start_baresip(settings, creds: dict[str, str], folder: Path) -> subprocess.Popen:  # type: ignore[no-untyped-def,type-arg]
    """baresip as the agent's softphone, configured only from what the panel showed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "snd").mkdir(exist_ok=True)
    audio = folder / "mic.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(audio), "synth", "30",
                    "sine", "900", "vol", "0.15"], check=True)

    @dataclass
    class Account:
        name: str
        secret: str

    files = baresip_config(settings, Account(creds["username"], creds["password"]),  # type: ignore[arg-type]
                           audio, settings.lab.sip + 32)
    host, _, port = creds["server"].rpartition(":")
    config = files["config"].replace(f":{settings.lab.sip + 20}", f":{settings.lab.sip + 30}")
    config = config.replace(str(settings.runtime_dir / "baresip"), str(folder))
    account = (f"<sip:{creds['username']}@{host}:{port};transport=udp>;auth_pass="
               f"{creds['password']};answermode=auto;audio_codecs=PCMU,PCMA;regint=300\n")
    (folder / "config").write_text(config)
    (folder / "accounts").write_text(account)
    return subprocess.Popen(["baresip", "-f", str(folder)], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def test_a_new_tenant_is_onboarded_in_the_browser(world: World, tmp_path: Path) -> None:
    w = world
    settings = w.settings
    admin, supervisor, agent = (f"{who}@{w.domain}" for who in ("szef", "kierownik", "anna"))
    # 1. the only CLI step
    done = subprocess.run([sys.executable, "-m", "controlplane.cli", "tenant", "create", w.domain,
                           "--admin", admin, "--licences", "5", "--locale", "pl"],
                          capture_output=True, text=True, env=os.environ, timeout=60)
    assert done.returncode == 0, done.stderr
    number = "4858" + str(secrets.randbelow(10**6)).zfill(6)
    trunk_user = f"ob-{secrets.token_hex(3)}"
    baresip = None
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            # 2. the first administrator activates from the mail and is logged in
            page = activate(browser, w, admin)
            shot(page, "admin-home")
            # 3. a supervisor and an agent, invited by e-mail
            for address, role in ((supervisor, "supervisor"), (agent, "agent")):
                submit(page, f"{w.base}/users/new", {"email": address, "role": role}, f"user-{role}")
            activate(browser, w, supervisor).context.close()
            agent_page = activate(browser, w, agent)
            # 4. the trunk to the carrier, and the lab (the carrier) learns the account. Before
            # the phone: the lab plays every phone it renders, and this one is baresip's
            submit(page, f"{w.base}/admin/trunks/new", {
                "host": SECOND_CARRIER, "port": str(settings.lab.sip),
                "username": trunk_user, "secret": secrets.token_hex(12),
                "register": "on", "channels": "10"}, "trunk")
            stack.prepare_lab(settings)
            account = trunk_user
            until(lambda: SECOND_CARRIER in lab_cli(settings, "pjsip show transports"),
                  timeout=20, what="the lab's second carrier listening")
            until(lambda: account in lab_cli(settings, "pjsip show contacts"), timeout=60,
                  interval=1, what="the platform registered to the carrier")
            # 5. the agent's phone, its credentials shown on demand
            page.goto(f"{w.base}/admin/phones/new")
            user_value = option_value(page, "user_id", "anna")
            submit(page, f"{w.base}/admin/phones/new", {"extension": "2001", "user_id": user_value},
                   "phone")
            page.locator("form[action$='/credentials'] button").click()
            page.wait_for_load_state()
            shot(page, "credentials")
            creds = {k: page.locator(f"[data-cred={k}]").text_content() or ""
                     for k in ("server", "username", "password")}
            assert all(creds.values()), creds
            # 6. a queue with the agent as its member
            page.goto(f"{w.base}/queues/new")
            page.fill("form [name=name]", "obsluga")
            page.locator("tr", has_text="anna").locator("input[name^=member_]").check()
            shot(page, "queue")
            page.locator("form.card button[type=submit], form.stack button[type=submit]").first.click()
            page.wait_for_load_state()
            assert not page.locator(".field-error, .alert").all_text_contents()
            # 7. the DID, straight to the queue
            page.goto(f"{w.base}/admin/dids/new")
            page.fill("form [name=number]", number)
            page.check("input[name=target][value=queue]")
            page.select_option("select[name=queue_id]", option_value(page, "queue_id", "obsluga"))
            page.select_option("select[name=trunk_id]", index=1)
            shot(page, "did")
            page.locator("form.card button[type=submit]").first.click()
            page.wait_for_load_state()
            assert not page.locator(".field-error, .alert").all_text_contents()
            # 8. baresip registers with what the panel showed; the phones page sees it
            baresip = start_baresip(settings, creds, tmp_path / "baresip")

            def registered() -> bool:
                page.goto(f"{w.base}/admin/phones")
                return page.locator("tr", has_text="2001").locator(
                    "[data-registration=registered]").count() == 1

            until(registered, timeout=40, interval=1, what="baresip registered (phones page)")
            shot(page, "phones")
            # 9. the agent logs in to the queues and goes ready (logging in makes an agent
            # ready; the Ready button only shows after a break or wrap-up)
            agent_page.goto(f"{w.base}/agent")
            agent_page.locator("form:has(input[name=command][value=login]) button").click()
            agent_page.wait_for_load_state()
            ready = agent_page.locator("form:has(input[name=command][value=ready]) button")

            def agent_ready() -> bool:
                if ready.is_visible():
                    ready.click()
                return agent_page.locator("[data-field=status]").text_content() == "ready"

            until(agent_ready, timeout=20, interval=0.5, what="the agent page says ready")
            shot(agent_page, "agent-ready")
            # 10. a member of the public calls the DID through the carrier
            caller = unique_caller()
            until(lambda: labcall.carrier_account(settings, number) is not None, timeout=5)
            labcall.call(settings, labcall.CallSpec(did=number, caller_id=caller, hangup_after=8))
            row = ended_record(platform_of(settings), caller, timeout=60)
            assert row.answered_at is not None and row.agent_endpoint == creds["username"]
            assert row.queue == "obsluga"
        finally:
            browser.close()
            if baresip is not None:
                baresip.terminate()
                baresip.wait(timeout=10)


@dataclass(frozen=True)
class _Platform:
    settings: object


def lab_cli(settings, command: str) -> str:  # type: ignore[no-untyped-def]
    return str(stack.lab_instance(settings).cli(command))


def platform_of(settings) -> _Platform:  # type: ignore[no-untyped-def]
    """``labtools`` takes a platform; only its settings are read."""
    return _Platform(settings)
