"""Mail over real SMTP into the real catcher: files kept privately, read back whole."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
from helpers import free_port
from mailcatcher import Catcher, catcher  # noqa: F401

from controlplane.config import load_settings
from controlplane.mail import mailbox
from controlplane.mail.send import MailError, parse_url, send_mail


def _settings(tmp_path: Path, url: str):  # type: ignore[no-untyped-def]
    return load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "rt"), "CENTRALA_SMTP_URL": url})


def test_a_sent_mail_is_kept_as_a_private_file_and_reads_back(
        tmp_path: Path, catcher: Catcher) -> None:  # noqa: F811
    settings = _settings(tmp_path, catcher.url)
    send_mail(settings, "jan@firma.pl", "Zażółć gęślą jaźń", "Treść\nz linkiem https://x/y\n",
              html="<p>Treść</p>")
    mail = catcher.wait_for("jan@firma.pl")
    assert mail.subject == "Zażółć gęślą jaźń"
    assert mail.to == ("jan@firma.pl",)
    assert "z linkiem https://x/y" in mail.text
    files = list(catcher.folder.glob("*.eml"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(catcher.folder.stat().st_mode) == 0o700
    assert not list(catcher.folder.glob(".*.tmp"))


def test_messages_are_listed_newest_first(tmp_path: Path, catcher: Catcher) -> None:  # noqa: F811
    settings = _settings(tmp_path, catcher.url)
    for n in range(3):
        send_mail(settings, f"u{n}@firma.pl", f"mail {n}", "x")
    catcher.wait_for("u2@firma.pl")
    assert [m.subject for m in mailbox.messages(catcher.folder)] == ["mail 2", "mail 1", "mail 0"]


def test_an_unreachable_server_is_a_mail_error_without_the_password(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"smtp://bob:s3cr3t-pw@127.0.0.1:{free_port()}")
    with pytest.raises(MailError) as err:
        send_mail(settings, "jan@firma.pl", "s", "t")
    assert "s3cr3t-pw" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert "s3cr3t-pw" not in repr(settings)


@pytest.mark.parametrize(("url", "scheme", "port", "user", "password"), [
    ("smtp://mail.example:2525", "smtp", 2525, "", ""),
    ("smtps://a%40b:p%2Fw@mail.example", "smtps", 465, "a@b", "p/w"),
    ("smtp+starttls://u:pass-word@mail.example", "smtp+starttls", 587, "u", "pass-word"),
])
def test_smtp_urls(url: str, scheme: str, port: int, user: str, password: str) -> None:
    server = parse_url(url)
    assert (server.scheme, server.host, server.port, server.user, server.password) == (
        scheme, "mail.example", port, user, password)
    assert password == "" or password not in repr(server)


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h:port"])
def test_bad_smtp_urls_say_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError, match="CENTRALA_SMTP_URL"):
        parse_url(url)


def test_without_an_smtp_url_mail_goes_to_the_local_catcher(tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), "CENTRALA_MAIL_PORT": "2600"})
    assert settings.smtp_url == "smtp://127.0.0.1:2600" and not settings.smtp_external
    assert settings.mail_dir == tmp_path.resolve() / "mail"
    assert dataclasses.replace(settings).public_url == "http://127.0.0.1:8080"
