"""The panel's HTTPS certificate: self-signed, generated once, reused on later starts.

With ``CENTRALA_WEB_TLS=1`` the panel serves HTTPS (:mod:`web.server`). The certificate
and its key live in ``<runtime>/tls/`` (``panel.crt``, ``panel.key``, the key mode
0600). They are reused while they parse, match each other, name the bind address and
stay valid for more than :data:`RENEW_BEFORE`; otherwise a new pair is made (ECDSA
P-256, valid :data:`VALID_FOR`, names ``localhost``, 127.0.0.1 and the bind address).
Browsers warn about a self-signed certificate until it is trusted; to use a
certificate from a CA, put its chain and key at the same two paths: a certificate we
did not make is used as it is and never replaced.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)

VALID_FOR = timedelta(days=397)  # the longest lifetime browsers accept
RENEW_BEFORE = timedelta(days=30)
CERT_NAME, KEY_NAME = "panel.crt", "panel.key"
ORGANIZATION = "Centrala (self-signed)"


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the certificate, hex (for the log and the operator)


def _names(bind_address: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        ip = ipaddress.ip_address(bind_address)
    except ValueError:
        if bind_address and bind_address != "localhost":
            names.append(x509.DNSName(bind_address))
    else:
        if not ip.is_unspecified and str(ip) != "127.0.0.1":
            names.append(x509.IPAddress(ip))
    return names


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


class CertificateError(Exception):
    """The operator's own certificate and key cannot be used (we never overwrite them)."""


def _ours(cert: x509.Certificate) -> bool:
    """Made by :func:`_generate` (self-signed, our organisation name), not put there by
    an operator."""
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return cert.issuer == cert.subject and any(a.value == ORGANIZATION for a in orgs)


def _public(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _usable(cert_path: Path, key_path: Path, bind_address: str, now: datetime) -> str | None:
    """The fingerprint of the stored pair if it can be reused, else None (make a new one).

    Our own certificate is renewed when it expires soon or no longer names the bind
    address. An operator's certificate is used as it is (with a warning when it expires
    soon); one whose key does not match is an error, not something to overwrite.
    """
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        log.info("panel certificate not reusable (%s); making a new one", err)
        return None
    same_key = _public(cert.public_key()) == _public(key.public_key())
    fresh = cert.not_valid_after_utc - now > RENEW_BEFORE
    if not _ours(cert):
        if not same_key:
            raise CertificateError(f"{cert_path} and {key_path} do not belong together "
                                   "(the key is not the certificate's)")
        if not fresh:
            log.warning("panel certificate %s expires %s: renew it", cert_path,
                        cert.not_valid_after_utc.isoformat())
        return _fingerprint(cert)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names_ok = all(n in sans for n in _names(bind_address))
    except x509.ExtensionNotFound:
        names_ok = False
    return _fingerprint(cert) if same_key and names_ok and fresh else None


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _generate(bind_address: str, now: datetime) -> tuple[bytes, bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Centrala panel"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(_names(bind_address)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, _fingerprint(cert)


def ensure_certificate(runtime_dir: Path, bind_address: str,
                       now: datetime | None = None) -> CertPair:
    """The panel's certificate and key, made on first use (or when no longer usable)."""
    now = now or datetime.now(UTC)
    folder = runtime_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    fingerprint = _usable(cert_path, key_path, bind_address, now)
    if fingerprint is None:
        cert_pem, key_pem, fingerprint = _generate(bind_address, now)
        _write_private(key_path, key_pem)
        cert_path.write_bytes(cert_pem)
        log.info("panel certificate generated: %s (SHA-256 %s)", cert_path, fingerprint)
    else:
        key_path.chmod(0o600)
    return CertPair(cert_path, key_path, fingerprint)
