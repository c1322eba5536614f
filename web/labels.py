"""Human labels for the internal values pages show (``on_call`` → "On a call" / "Rozmowa").

Templates write ``{{ agent.status | label("agent_status") }}``; Python calls
:func:`label`. A value nobody labelled is shown as it is (never an error on a page), and
``tests/unit/web/test_web_labels.py`` checks every value of the enums listed here has a
label in both languages. Add a kind here when a page starts showing a new internal value.
"""

from __future__ import annotations

from enum import Enum

from flask_babel import LazyString, lazy_gettext

from controlplane.acd.agent_events import Status
from controlplane.calls.machines.call_state import Phase
from controlplane.models.tenancy import Role

_ = lazy_gettext

KINDS: dict[str, dict[str, LazyString]] = {
    "role": {
        Role.ADMIN: _("Administrator"),
        Role.SUPERVISOR: _("Supervisor"),
        Role.AGENT: _("Agent"),
        Role.OPERATOR: _("Platform operator"),
    },
    "agent_status": {
        Status.LOGGED_OUT: _("Logged out"),
        Status.READY: _("Ready"),
        Status.RESERVED: _("Reserved"),
        Status.RINGING: _("Ringing"),
        Status.ON_CALL: _("On a call"),
        Status.WRAP_UP: _("Wrap-up"),
        Status.BREAK: _("On a break"),
    },
    "call_phase": {
        Phase.IVR: _("In the IVR"),
        Phase.RINGING: _("Dialling"),
        Phase.AMD: _("Detecting a machine"),
        Phase.ABANDONING: _("Abandoning"),
        Phase.PROMPT: _("Greeting"),
        Phase.QUEUED: _("Waiting in a queue"),
        Phase.REJECTING: _("Rejecting"),
        Phase.DIALING: _("Ringing the agent"),
        Phase.TALKING: _("Talking"),
        Phase.ENDING: _("Ending"),
        Phase.ENDED: _("Ended"),
    },
}

# Enums whose every value must be labelled (the unit test reads this).
LABELLED_ENUMS: dict[str, type[Enum]] = {
    "role": Role, "agent_status": Status, "call_phase": Phase,
}


def label(value: object, kind: str) -> str:
    """The human label of ``value`` (an enum member or its string) in this request's
    language; the value itself if it has none."""
    key = value.value if isinstance(value, Enum) else value
    found = KINDS.get(kind, {}).get(str(key))
    return str(found) if found is not None else str(key)
