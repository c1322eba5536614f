"""Browser webphones in the rendered configuration: a WebRTC endpoint bound to its user,
the WebSocket transport on Asterisk's HTTP server, WSS only with the panel's TLS, and no
lab desk phone pretending to be one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from controlplane import stack
from controlplane.admin import webphone as webphones
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant, User
from controlplane.seed import DEMO_DOMAIN
from dialplan import webphone
from dialplan.lab import render_lab
from dialplan.modules import PLATFORM
from dialplan.render import render_platform
from tests.unit.dialplan.test_trunk_identity_render import ENV, section
from web.tls import ensure_certificate


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine)
    engine.dispose()


def _agent(s, login: str = "agent1") -> User:  # type: ignore[no-untyped-def]
    tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
    return s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == login))


def test_webphone_is_a_webrtc_endpoint_of_its_user(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with transaction(factory) as s:
        agent = _agent(s)
        phone, created = webphones.ensure(s, agent.tenant_id, agent.id)
        again, created_again = webphones.ensure(s, agent.tenant_id, agent.id)
        name, secret, ext = phone.name, phone.secret, phone.extension
    assert created and not created_again and again.name == name
    assert name == f"demo-web-{agent.id}" and ext.startswith("7") and len(secret) >= 16
    with factory() as s:
        files = render_platform(s, settings)
        lab = render_lab(s, settings)["pjsip.conf"]
    pjsip = files["pjsip.conf"]
    ep = section(pjsip, name, "endpoint")
    for line in ("webrtc = yes", "allow = opus,ulaw,alaw", "dtls_auto_generate_cert = yes",
                 f"auth = {name}", "identify_by = username,auth_username",
                 f"set_var = CENTRALA_TENANT={agent.tenant_id}", f"set_var = CENTRALA_PHONE={name}",
                 f"context = phones-t{agent.tenant_id}"):
        assert line + "\n" in ep, line
    assert "transport = " not in ep  # the browser's own socket carries requests to it
    assert f"password = {secret}\n" in section(pjsip, name, "auth")
    assert "max_contacts = 1\n" in section(pjsip, name, "aor")
    assert "protocol = ws\n" in section(pjsip, "transport-ws", "transport")
    assert "[transport-wss]" not in pjsip and "tlsenable" not in files["http.conf"]
    # desk phones unchanged: G.711 over udp, no WebRTC
    desk = section(pjsip, "demo-1001", "endpoint")
    assert "webrtc" not in desk and "allow = ulaw,alaw\n" in desk
    assert name not in lab  # the lab registers desk phones only
    for module in ("res_pjsip_transport_websocket", "res_http_websocket", "res_srtp",
                   "codec_opus_open_source"):
        assert module in PLATFORM and f"load = {module}.so" in files["modules.conf"]
    assert webphone.ws_url(settings) == f"ws://127.0.0.1:{settings.platform.http}/ws"


def test_wss_with_the_panel_certificate_when_tls(tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV,
                              "CENTRALA_WEB_TLS": "1"})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            before = render_platform(s, settings)  # the panel has not made its certificate
            ensure_certificate(tmp_path, settings.bind_address)
            files = render_platform(s, settings)
    finally:
        engine.dispose()
    assert "tlsenable" not in before["http.conf"] and webphone.TLS_FILE not in before
    http = files["http.conf"]
    port = settings.platform.http + 1
    assert f"tlsbindaddr = 127.0.0.1:{port}\n" in http and "tlsenable = yes\n" in http
    pem = tmp_path / "platform" / "etc" / "webphone-tls.pem"
    assert f"tlscertfile = {pem}\n" in http and f"tlsprivatekey = {pem}\n" in http
    # the panel's pair, copied where the unprivileged Asterisk may read it
    assert files[webphone.TLS_FILE] == ((tmp_path / "tls" / "panel.crt").read_text()
                                        + (tmp_path / "tls" / "panel.key").read_text())
    assert "protocol = wss\n" in section(files["pjsip.conf"], "transport-wss", "transport")
    assert webphone.ws_url(settings, "panel.example") == f"wss://panel.example:{port}/ws"


def test_tenant_may_refuse_webphones(env) -> None:  # type: ignore[no-untyped-def]
    _, factory = env
    with transaction(factory) as s:
        agent = _agent(s)
        s.get(Tenant, agent.tenant_id).webphone_enabled = False
        with pytest.raises(webphones.WebphonesOff):
            webphones.ensure(s, agent.tenant_id, agent.id)
        assert webphones.find(s, agent.tenant_id, agent.id) is None
