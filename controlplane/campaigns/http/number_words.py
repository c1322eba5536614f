"""Why a number was refused, in the page's language.

The number rules (:mod:`controlplane.campaigns.numbers`, :mod:`controlplane.campaigns.blacklist`)
explain themselves in English, which the API keeps (a stable text for integrators). The
dial-list pages show the same reasons to people, so :func:`say` reads each known English
form (a fixed text, or one with a country code or region in it) and gives it back through
gettext; a reason it does not know is shown as it is, never lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

_FIXED: dict[str, Callable[[], str]] = {
    "empty": lambda: _("empty"),
    "required": lambda: _("required"),
    "unknown country calling code": lambda: _("unknown country calling code"),
    "no digits to read": lambda: _("no digits to read"),
    "too short after the 00/+": lambda: _("too short after the 00/+"),
    "too short": lambda: _("too short"),
    "too long": lambda: _("too long"),
    "wrong length": lambda: _("wrong length"),
    "a prefix must be '+' and 1-15 digits, e.g. +4870":
        lambda: _("a prefix must be '+' and 1-15 digits, e.g. +4870"),
}
_NOT_A_NUMBER = re.compile(r"not a phone number \((?P<why>.*)\)")
_FOR_CODE = re.compile(r"(?P<why>.*) for \+(?P<cc>\d+)")
_NOT_VALID = re.compile(r"not a valid number in (?P<where>\S+) \(\+(?P<cc>\d+)\)")
_TOO_LONG_REASON = re.compile(r"reason: longer than (?P<n>\d+) characters")


def say(reason: str) -> str:
    """``reason`` (English, from the number rules) in the page's language."""
    fixed = _FIXED.get(reason)
    if fixed is not None:
        return fixed()
    if m := _NOT_A_NUMBER.fullmatch(reason):
        return _("not a phone number (%(why)s)", why=say(m["why"]))
    if m := _NOT_VALID.fullmatch(reason):
        return _("not a valid number in %(where)s (+%(code)s)", where=m["where"], code=m["cc"])
    if m := _FOR_CODE.fullmatch(reason):
        return _("%(why)s for +%(code)s", why=say(m["why"]), code=m["cc"])
    if m := _TOO_LONG_REASON.fullmatch(reason):
        return _("reason longer than %(n)s characters", n=m["n"])
    return reason
