"""Parsing mail (ids, text, attachments, robots), routing rules and the password vault."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from controlplane.desk.email import parse, rules, vault


def _raw(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Anna Nowak <Anna@Klient.Example>"
    msg["To"] = "pomoc@firma.example, Faktury <faktury@firma.example>"
    msg["Subject"] = "Pytanie"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_ids_newest_first_and_a_synthetic_stable_id() -> None:
    msg = _raw(Message_ID="<c@k>", In_Reply_To="<b@f>", References="<a@k> <b@f>")
    msg.set_content("tekst")
    got = parse.parse(bytes(msg))
    assert got.message_id == "<c@k>" and got.reply_to == ("<b@f>", "<a@k>")
    assert (got.sender, got.sender_name) == ("anna@klient.example", "Anna Nowak")
    assert got.to == ("pomoc@firma.example", "faktury@firma.example")
    bare = _raw()
    bare.set_content("bez identyfikatora")
    one, two = parse.parse(bytes(bare)), parse.parse(bytes(bare))
    assert one.message_id == two.message_id and one.message_id.endswith("@synthetic.centrala>")
    assert not one.automatic


def test_text_part_preferred_html_as_fallback_and_attachments() -> None:
    msg = _raw()
    msg.set_content("Zwykły tekst")
    msg.add_alternative("<p>HTML <b>tekst</b></p>", subtype="html")
    assert parse.parse(bytes(msg)).text == "Zwykły tekst"
    html = _raw()
    html.set_content("<html><head><style>p{}</style></head><body><p>Dzień&nbsp;dobry</p>"
                     "<p>Linia&amp;dwa</p><script>x()</script></body></html>", subtype="html")
    html.add_attachment(b"\x00\x01", maintype="image", subtype="png", filename="zdjęcie.png")
    got = parse.parse(bytes(html))
    assert got.text == "Dzień\xa0dobry\n\nLinia&dwa"
    [att] = got.attachments
    assert (att.name, att.content_type, att.size) == ("zdjęcie.png", "image/png", 2)


@pytest.mark.parametrize(("headers", "why"), [
    ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
    ({"Precedence": "bulk"}, "Precedence: bulk"),
    ({"X_Autoreply": "yes"}, "X-Autoreply"),
    ({"From": "MAILER-DAEMON@mx.example"}, "sender mailer-daemon@mx.example"),
    ({"Return_Path": "<>"}, "empty Return-Path"),
])
def test_auto_replies_and_bounces_are_marked(headers: dict[str, str], why: str) -> None:
    msg = _raw()
    for name, value in headers.items():
        key = name.replace("_", "-")
        if key in msg:
            msg.replace_header(key, value)
        else:
            msg[key] = value
    msg.set_content("Jestem na urlopie")
    assert parse.parse(bytes(msg)).automatic == why
    person = _raw(Auto_Submitted="no")
    person.set_content("x")
    assert parse.parse(bytes(person)).automatic == ""


def test_rules_first_match_else_the_mailbox_queue_and_checks() -> None:
    rs = [{"field": "to", "contains": "FAKTURY@", "queue_id": 7},
          {"field": "subject", "contains": "awaria", "queue_id": 8},
          {"field": "from", "contains": "@vip.example", "queue_id": 9}]
    facts = rules.Facts("Awaria", "a@klient.example", ("pomoc@firma.example",))
    assert rules.route(rs, facts, 1) == 8
    assert rules.route(rs, rules.Facts("Awaria", "a@k", ("faktury@firma.example",)), 1) == 7
    assert rules.route(rs, rules.Facts("x", "b@vip.example", ()), 1) == 9
    assert rules.route(rs, rules.Facts("x", "c@k", ()), 1) == 1
    assert rules.problems(rs, {7, 8, 9}) == []
    bad = rules.problems([{"field": "body", "contains": "", "queue_id": 3, "x": 1}, 5], {7})
    assert [f for f, _m in bad] == ["rules[0]", "rules[0].field", "rules[0].contains",
                                    "rules[0].queue_id", "rules[1]"]


def test_vault_key_is_private_and_tokens_need_it(tmp_path: Path) -> None:
    token = vault.encrypt(tmp_path, "tajne hasło")
    assert "tajne" not in token and vault.decrypt(tmp_path, token) == "tajne hasło"
    key = vault.key_path(tmp_path)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert vault.encrypt(tmp_path, "") == "" and vault.decrypt(tmp_path, "") == ""
    key.unlink()  # a new key: the old token cannot be read, and says so
    with pytest.raises(vault.VaultError, match="enter the password again"):
        vault.decrypt(tmp_path, token)
