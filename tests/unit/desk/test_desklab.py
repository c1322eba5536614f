"""The mail lab itself: a message submitted over SMTP is in the recipient's IMAP inbox."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from desklab import MailLab, maillab  # noqa: F401


def test_smtp_delivers_into_dovecot_and_refuses_strangers(maillab: MailLab) -> None:  # noqa: F811
    maillab.add_user("support@firma.example")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "jan@klient.pl", "support@firma.example", "Zażółć"
    msg.set_content("Dzień dobry")
    maillab.send(msg)
    got = maillab.wait_for("support@firma.example")
    assert got[0]["Subject"] == "Zażółć" and "Dzień dobry" in got[0].get_content()
    msg.replace_header("To", "nikt@firma.example")
    import smtplib
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        maillab.send(msg)
