"""A phone created in the panel registers with the credentials the panel shows (issue 12 item 8).

An admin creates a phone through ``/api/v1/phones`` (the real panel app on the platform's
database and Redis, as the ``web`` Redis user): the platform renders and reloads Asterisk
itself, no CLI step. A second baresip, configured only with what the panel's credentials
page shows, registers; the panel then shows the phone registered, read from the daemon's
AMI contact state. A new password makes the old one useless.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from helpers import until
from labtools import panel_login
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import PhoneEndpoint, Tenant, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from web import create_app

pytestmark = pytest.mark.integration
PASSWORD = "admin phones live test"
EXTENSION = "7301"


@pytest.fixture
def admin(platform) -> Iterator[FlaskClient]:  # type: ignore[no-untyped-def]
    """The panel (in-process, real database and Redis) with the demo admin logged in."""
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.extension == EXTENSION))
        user = s.scalar(select(User).join(Tenant).where(User.login == "admin",
                                                        Tenant.domain == DEMO_DOMAIN))
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        resp = panel_login(client, f"admin@{DEMO_DOMAIN}", PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with client.session_transaction() as sess:  # a new session (and token) at login
            client.environ_base["HTTP_X_CSRF_TOKEN"] = sess["csrf"]
        yield client
    app.extensions["centrala"].close()
    with transaction(factory) as s:
        s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.extension == EXTENSION))
    engine.dispose()
    stack.apply_platform_config(platform.settings)  # the phone gone from Asterisk too


def _baresip(platform, username: str, password: str, server: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    """One more baresip, configured with the panel's credentials only (own ports and folder)."""
    settings = platform.settings
    base = settings.runtime_dir / "baresip-admin"
    base.mkdir(parents=True, exist_ok=True)
    (base / "snd").mkdir(exist_ok=True)
    mic = settings.runtime_dir / "baresip" / "mic.wav"
    (base / "config").write_text(
        f"poll_method epoll\nsip_listen {settings.bind_address}:{settings.lab.sip + 30}\n"
        f"net_interface {settings.bind_address}\naudio_player aufile,{base}/heard\n"
        f"audio_source aufile,{mic}\naudio_alert aufile,{base}/alert\nausrc_srate 8000\n"
        "auplay_srate 8000\nausrc_channels 1\nauplay_channels 1\n"
        "module_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule g711.so\n"
        "module aufile.so\nmodule sndfile.so\nmodule account.so\nmodule_app menu.so\n"
        f"snd_path {base}/snd\n")
    (base / "accounts").write_text(
        f"<sip:{username}@{server};transport=udp>;auth_pass={password};answermode=auto;"
        "audio_codecs=PCMU,PCMA;regint=60\n")
    log = (base / "baresip.log").open("ab")
    try:
        return subprocess.Popen(["baresip", "-f", str(base)], cwd=base, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def _state(admin: FlaskClient, phone_id: int) -> str:
    return str(admin.get(f"/api/v1/phones/{phone_id}").get_json()["phone"]["registration"])


def test_a_phone_made_in_the_panel_registers_and_shows_registered(platform, admin) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed")
    made = admin.post("/api/v1/phones", json={"extension": EXTENSION})
    assert made.status_code == 201, made.get_json()
    out = made.get_json()
    phone_id = out["phone"]["id"]
    # Applied by the platform: pjsip.conf changed, PJSIP reloaded over AMI, no CLI step.
    assert out["applied"]["ok"] is True, out["applied"]
    assert "pjsip.conf" in out["applied"]["changed"]
    assert "res_pjsip.so" in out["applied"]["reloaded"]
    name = out["phone"]["name"]
    ast = stack.platform_instance(platform.settings)
    assert f"{name}/" in until(lambda: (t := ast.cli(f"pjsip show endpoint {name}")) and
                               "Unable to find" not in t and t, timeout=10,
                               what="the new endpoint loaded in Asterisk")
    assert _state(admin, phone_id) == "unregistered"

    # What the credentials page shows (a POST, audited) is all the softphone gets.
    page = admin.post(f"/admin/phones/{phone_id}/credentials").get_data(as_text=True)
    shown = dict(re.findall(r'<code data-cred="(\w+)">([^<]+)</code>', page))
    assert shown["username"] == name and len(shown["password"]) >= 32
    proc = _baresip(platform, shown["username"], shown["password"], shown["server"])
    try:
        until(lambda: _state(admin, phone_id) == "registered", timeout=40,
              what="the panel shows the phone registered")
        assert f"{name}/sip:" in ast.cli("pjsip show contacts")
        listing = admin.get(f"/admin/phones?q={EXTENSION}").get_data(as_text=True)
        assert 'data-registration="registered"' in listing

        # A new password: Asterisk takes it at once, the old one no longer authenticates.
        new = admin.post(f"/api/v1/phones/{phone_id}/credentials/regenerate").get_json()
        assert new["applied"]["ok"] is True and new["credentials"]["password"] != shown["password"]
        auth = ast.cli(f"pjsip show auth {name}")
        assert shown["password"] not in auth
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
