"""HTTPS: the panel serves its generated self-signed certificate, marks cookies Secure,
reuses the certificate on later starts, and one silent client does not stall it."""

from __future__ import annotations

import dataclasses
import http.client
import re
import socket
import ssl
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from flask import Flask

from controlplane.config import Settings, load_settings
from controlplane.seed import DEMO_DOMAIN
from web import create_app
from web.server import make_panel_server
from web.tls import VALID_FOR, ensure_certificate

from .conftest import PASSWORD


@pytest.fixture
def tls_settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, runtime_dir=tmp_path / "runtime", web_tls=True)


@pytest.fixture
def https(tls_settings: Settings, world, redis_client) -> Iterator[tuple[int, Path, Flask]]:
    app = create_app(config={"TESTING": True}, settings=tls_settings)
    server = make_panel_server(tls_settings, app, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, tls_settings.runtime_dir / "tls" / "panel.crt", app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["centrala"].close()


def _conn(port: int, cert: Path) -> http.client.HTTPSConnection:
    # Verifies the chain against the generated certificate and the IP in its names.
    ctx = ssl.create_default_context(cafile=str(cert))
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)


def test_https_serves_the_generated_certificate_with_secure_cookies(https):
    port, cert, app = https
    assert app.config["SESSION_COOKIE_SECURE"] is True
    conn = _conn(port, cert)
    conn.request("GET", "/login")
    served = conn.sock.getpeercert(binary_form=True)  # before the server closes
    resp = conn.getresponse()
    page = resp.read().decode()
    assert resp.status == 200
    assert x509.load_der_x509_certificate(served) == x509.load_pem_x509_certificate(
        cert.read_bytes())
    visitor = resp.getheader("Set-Cookie")
    assert visitor.startswith("centrala_session=a.") and "; Secure" in visitor
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    conn.close()
    conn = _conn(port, cert)  # the server closes after each response (HTTP/1.0)
    form = urllib.parse.urlencode({"address": f"admin@{DEMO_DOMAIN}", "password": PASSWORD,
                                   "csrf_token": token})
    conn.request("POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": visitor.split(";")[0]})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302
    cookies = {c.split("=")[0]: c for c in resp.headers.get_all("Set-Cookie")}
    assert set(cookies) == {"centrala_session", "centrala_device"}
    for cookie in cookies.values():
        assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    conn.close()


def test_plain_http_on_the_https_port_gets_nothing(https):
    port, _, _ = https
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        conn.request("GET", "/login")
        conn.getresponse().read()
    conn.close()


def test_a_silent_client_does_not_stall_the_panel(https):
    port, cert, _ = https
    silent = socket.create_connection(("127.0.0.1", port), timeout=20)  # never says hello
    try:
        conn = _conn(port, cert)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        silent.close()


def test_certificate_files_are_private_and_reused(tls_settings: Settings):
    first = ensure_certificate(tls_settings.runtime_dir, "127.0.0.1")
    assert stat.S_IMODE(first.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.cert.parent.stat().st_mode) == 0o700
    pem = first.cert.read_bytes()
    again = ensure_certificate(tls_settings.runtime_dir, "127.0.0.1")
    assert again.fingerprint == first.fingerprint and again.cert.read_bytes() == pem
    cert = x509.load_pem_x509_certificate(pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def test_certificate_is_renewed_when_expiring_broken_or_for_another_address(
        tls_settings: Settings):
    runtime = tls_settings.runtime_dir
    first = ensure_certificate(runtime, "127.0.0.1")
    late = datetime.now(UTC) + VALID_FOR - timedelta(days=10)
    renewed = ensure_certificate(runtime, "127.0.0.1", now=late)
    assert renewed.fingerprint != first.fingerprint
    moved = ensure_certificate(runtime, "10.9.8.7")
    assert moved.fingerprint != renewed.fingerprint
    names = x509.load_pem_x509_certificate(moved.cert.read_bytes()).extensions \
        .get_extension_for_class(x509.SubjectAlternativeName).value
    assert "10.9.8.7" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    moved.cert.write_text("not a certificate")
    fixed = ensure_certificate(runtime, "10.9.8.7")
    assert fixed.fingerprint != moved.fingerprint
    assert b"BEGIN CERTIFICATE" in fixed.cert.read_bytes()


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("YES", True), ("on", True),
    ("0", False), ("", False), ("false", False), ("off", False),
])
def test_web_tls_setting(value, expected):
    assert load_settings({"CENTRALA_WEB_TLS": value}).web_tls is expected
    assert load_settings({}).web_tls is False


def test_web_tls_setting_refuses_nonsense_by_name():
    with pytest.raises(ValueError, match="CENTRALA_WEB_TLS.*'maybe'"):
        load_settings({"CENTRALA_WEB_TLS": "maybe"})


def _operator_pair(folder: Path, days: int = 90) -> bytes:
    """A certificate an operator got elsewhere (another issuer, another name)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "panel.example")]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some CA")]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("panel.example")]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "panel.crt").write_bytes(pem)
    (folder / "panel.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return pem


def test_an_operators_certificate_is_used_never_replaced(tls_settings: Settings):
    from web.tls import CertificateError

    folder = tls_settings.runtime_dir / "tls"
    pem = _operator_pair(folder, days=10)  # expiring soon: a warning, still used
    pair = ensure_certificate(tls_settings.runtime_dir, "127.0.0.1")
    assert pair.cert.read_bytes() == pem
    assert stat.S_IMODE(pair.key.stat().st_mode) == 0o600
    other_key = (folder / "panel.key").read_bytes()
    _operator_pair(folder)
    (folder / "panel.key").write_bytes(other_key)  # a key of another certificate
    mine = (folder / "panel.crt").read_bytes()
    with pytest.raises(CertificateError, match="do not belong together"):
        ensure_certificate(tls_settings.runtime_dir, "127.0.0.1")
    assert (folder / "panel.crt").read_bytes() == mine
