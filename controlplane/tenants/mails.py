"""The texts of the link mails, in Polish and English (pure).

The mail job runs outside the panel (no Flask request, no flask-babel), so the few
texts live here, one per purpose and language, chosen by the user's language or else
the tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.tenants.tokens import Purpose


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


_TEXTS = {
    (Purpose.ACTIVATION, "pl"): Text(
        "Aktywacja konta w Centrali ({tenant})",
        "Dzień dobry,\n\nzałożono dla Ciebie konto w Centrali dla {tenant}.\n"
        "Login: {address}\n\nAby ustawić hasło i się zalogować, otwórz link (ważny 48 godzin,"
        " jednorazowy):\n{link}\n\nJeśli nie spodziewasz się tej wiadomości, zignoruj ją.\n"),
    (Purpose.ACTIVATION, "en"): Text(
        "Activate your Centrala account ({tenant})",
        "Hello,\n\nan account in Centrala was created for you at {tenant}.\n"
        "Login: {address}\n\nTo set your password and log in, open this link (valid 48 hours,"
        " once):\n{link}\n\nIf you did not expect this message, ignore it.\n"),
    (Purpose.RESET, "pl"): Text(
        "Reset hasła w Centrali ({tenant})",
        "Dzień dobry,\n\nktoś (zapewne Ty) poprosił o nowe hasło do konta {address}.\n\n"
        "Aby ustawić nowe hasło, otwórz link (ważny 1 godzinę, jednorazowy):\n{link}\n\n"
        "Jeśli to nie Ty, zignoruj tę wiadomość: hasło się nie zmieni.\n"),
    (Purpose.RESET, "en"): Text(
        "Reset your Centrala password ({tenant})",
        "Hello,\n\nsomeone (probably you) asked for a new password for {address}.\n\n"
        "To set a new password, open this link (valid 1 hour, once):\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n"),
}


def render(purpose: Purpose, locale: str, *, tenant: str, address: str, link: str) -> Text:
    text = _TEXTS.get((purpose, locale)) or _TEXTS[(purpose, "en")]
    values = {"tenant": tenant, "address": address, "link": link}
    return Text(text.subject.format(**values), text.body.format(**values))
