"""Desk-phone feature codes for agents (pure).

    *50             log in (ready)
    *51             ready (end a break, or end wrap-up early)
    *52<digits>     break with reason code <digits> (1–8 digits)
    *53             log out

The phone dials the code; the dialplan hands it to the control plane, which
calls ``QueueService.feature_code(endpoint, code)`` and plays the sound it
returns (see ``SOUNDS``: all are in Asterisk's core sounds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOGIN = "login"
READY = "ready"
BREAK = "break"
LOGOUT = "logout"

_CODES = {"50": LOGIN, "51": READY, "53": LOGOUT}
_BREAK = re.compile(r"52(\d{1,8})")

# Spoken confirmations (Asterisk core sounds, en).
SOUNDS = {
    "logged_in": "sound:agent-loginok",  # "Agent logged in"
    "already_on": "sound:agent-alreadyon",  # "That agent is already logged on…"
    "logged_out": "sound:agent-loggedoff",  # "Agent logged off"
    "ok": "sound:beep",
    "refused": "sound:beeperr",  # not allowed now (e.g. break refused)
    "unknown_phone": "sound:agent-incorrect",  # this phone has no agent / login refused
    "invalid": "sound:pbx-invalid",  # not a feature code
}


@dataclass(frozen=True, slots=True)
class FeatureCode:
    action: str  # login | ready | break | logout
    reason: str | None = None  # the break reason code


def parse(code: str) -> FeatureCode | None:
    """The feature code dialed, or None when ``code`` is not one."""
    code = code.strip()
    if not code.startswith("*"):
        return None
    body = code[1:]
    if body in _CODES:
        return FeatureCode(_CODES[body])
    m = _BREAK.fullmatch(body)
    return FeatureCode(BREAK, m.group(1)) if m else None
