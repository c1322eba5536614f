"""Human labels for the internal values pages show (``on_call`` → "On a call" / "Rozmowa").

Templates write ``{{ agent.status | label("agent_status") }}``; Python calls
:func:`label`. A value nobody labelled is shown as it is (never an error on a page), and
``tests/unit/web/test_web_i18n.py`` checks every value of the enums listed here has a
label in both languages. Add a kind here when a page starts showing a new internal value.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from flask_babel import LazyString, lazy_gettext
from sqlalchemy import select

from controlplane.acd.agent_events import Status
from controlplane.calls.machines.call_state import Phase
from controlplane.models.acd import BREAK_KINDS, NO_AGENTS, RECORDING, STRATEGIES
from controlplane.models.campaigns import MODES, OUTCOMES, PHONE_KINDS, RECORD_STATES, STATUSES
from controlplane.models.ivr import DRAFT, PUBLISHED
from controlplane.models.telephony import PhoneEndpoint
from controlplane.models.tenancy import Role, User
from controlplane.security.destinations import DestClass

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
    "direction": {
        "inbound": _("Inbound"),
        "outbound": _("Outbound"),
        "internal": _("Internal"),
    },
    "campaign_mode": {
        "preview": _("Preview"),
        "progressive": _("Progressive"),
        "predictive": _("Predictive"),
    },
    "campaign_status": {
        "draft": _("Draft"),
        "running": _("Running"),
        "paused": _("Paused"),
        "finished": _("Finished"),
    },
    "record_state": {
        "fresh": _("New"),
        "scheduled": _("Scheduled"),
        "in_progress": _("In progress"),
        "done": _("Done"),
        "closed": _("Closed"),
        "failed": _("Failed"),
    },
    "outcome": {
        "human": _("Answered by a person"),
        "machine": _("Answering machine"),
        "no_answer": _("No answer"),
        "busy": _("Busy"),
        "failed": _("Failed"),
        "unallocated": _("Number does not exist"),
        "abandoned": _("Abandoned"),
        "skipped": _("Skipped"),
        "refused": _("Refused by the outbound policy"),
    },
    "attempt_mode": {
        "preview": _("Preview"),
        "progressive": _("Progressive"),
        "predictive": _("Predictive"),
    },
    "break_kind": {
        "free": _("Free"),
        "approval": _("Needs approval"),
        "conditional": _("Limited number at once"),
        "supervisor": _("Supervisor only"),
    },
    "strategy": {
        "linear": _("In order"),
        "random": _("Random"),
        "round_robin": _("Round robin"),
        "ring_all": _("Ring all"),
        "longest_idle": _("Longest idle"),
        "fewest_calls": _("Fewest calls"),
    },
    "no_agents": {
        "wait": _("Keep waiting"),
        "leave": _("Leave the queue"),
        "overflow": _("Go to the overflow queue"),
    },
    "recording": {
        "always": _("Always"),
        "never": _("Never"),
        "on_demand": _("On demand"),
    },
    "skill_preference": {
        "closest": _("Closest skill level"),
        "highest": _("Highest skill level"),
    },
    "flow_status": {
        "draft": _("Draft"),
        "published": _("Published"),
    },
    "phone_kind": {
        "mobile": _("Mobile"),
        "fixed": _("Landline"),
        "fixed_or_mobile": _("Landline or mobile"),
        "voip": _("VoIP"),
        "toll_free": _("Toll-free"),
        "other": _("Other"),
    },
    "dest_class": {
        DestClass.EMERGENCY: _("emergency numbers"),
        DestClass.NATIONAL: _("national numbers (fixed, mobile, other)"),
        DestClass.TOLLFREE: _("toll-free numbers"),
        DestClass.PREMIUM: _("premium-rate and shared-cost numbers"),
        DestClass.INTERNATIONAL: _("international numbers"),
        DestClass.SATELLITE: _("satellite and international network numbers (+870, +881, +882, …)"),
        DestClass.INVALID: _("invalid numbers"),
    },
    # Q.850 causes as Asterisk names them (the common ones; others show Asterisk's text).
    "hangup_cause": {
        "0": _("Not defined"),
        "1": _("Unallocated (unassigned) number"),
        "16": _("Normal Clearing"),
        "17": _("User busy"),
        "18": _("No user responding"),
        "19": _("User alerting, no answer"),
        "21": _("Call Rejected"),
        "27": _("Destination out of order"),
        "28": _("Invalid number format"),
        "31": _("Normal, unspecified"),
        "34": _("Circuit/channel congestion"),
        "38": _("Network out of order"),
        "41": _("Temporary failure"),
        "127": _("Interworking, unspecified"),
    },
    # What went wrong, as the error page's headline (the detail below it is the error's own
    # message: English, as the API gives it to integrators).
    "error": {
        "bad_request": _("The request could not be read"),
        "bad_parameter": _("A value is not right"),
        "invalid": _("Some values are not right"),
        "invalid_form": _("Some values are not right"),
        "invalid_json": _("The file is not valid JSON"),
        "invalid_value": _("A value is not right"),
        "unauthorized": _("Please log in"),
        "forbidden": _("Your role may not do this"),
        "not_found": _("Not found"),
        "queue_not_found": _("Not found"),
        "tenant_not_found": _("Not found"),
        "method_not_allowed": _("This page does not take that request"),
        "too_large": _("Too large"),
        "rate_limited": _("Too many requests; try again shortly"),
        "csrf_failed": _("The form expired; reload the page and try again"),
        "conflict": _("This conflicts with the current state"),
        "command_refused": _("The command was refused"),
        "controlplane_not_answering": _("The control plane is not answering"),
        "unavailable": _("Temporarily unavailable"),
        "internal_error": _("Something went wrong on our side"),
    },
    "agent_command": {
        "login": _("Log in to the queues"),
        "logout": _("Log out of the queues"),
        "ready": _("Ready"),
        "break": _("Break"),
        "cancel_break": _("Cancel break request"),
        "approve": _("Approve break"),
        "deny": _("Deny"),
        "force": _("Force break"),
    },
    "batch_kind": {
        "fresh": _("New"),
        "private_recontact": _("My recontact"),
        "system_recontact": _("Recontact"),
    },
    "severity": {
        "info": _("Information"),
        "warning": _("Warning"),
        "alert": _("Alert"),
    },
}

# Enums whose every value must be labelled (the unit test reads this).
LABELLED_ENUMS: dict[str, type[Enum]] = {
    "role": Role, "agent_status": Status, "call_phase": Phase, "dest_class": DestClass,
}

# Value tuples (model constants) whose every value must be labelled, by kind.
LABELLED_VALUES: dict[str, tuple[str, ...]] = {
    "direction": ("inbound", "outbound", "internal"),
    "campaign_mode": MODES, "campaign_status": STATUSES, "record_state": RECORD_STATES,
    "outcome": OUTCOMES, "break_kind": BREAK_KINDS, "strategy": STRATEGIES,
    "no_agents": NO_AGENTS, "recording": RECORDING, "flow_status": (DRAFT, PUBLISHED),
    "phone_kind": PHONE_KINDS, "severity": ("info", "warning", "alert"),
}


def label(value: object, kind: str) -> str:
    """The human label of ``value`` (an enum member or its string) in this request's
    language; the value itself if it has none."""
    key = value.value if isinstance(value, Enum) else value
    found = KINDS.get(kind, {}).get(str(key))
    return str(found) if found is not None else str(key)


def user_names(ids: Iterable[object]) -> dict[int, str]:
    """User id → display name (else login) for the ids a page shows, of the logged-in
    user's tenant only: pages show people by name, never "user 8"."""
    # Imported here: the panel's services and auth import this module's labels at start.
    from web.auth import current_user
    from web.services import services

    wanted = {int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    with services().sessions() as s:
        rows = s.execute(select(User.id, User.display_name, User.login).where(
            User.tenant_id == current_user().tenant_id, User.id.in_(wanted)))
        return {uid: name or login for uid, name, login in rows}


def endpoint_names() -> dict[str, str]:
    """Phone endpoint → its user's name, in the logged-in user's tenant (live calls name the
    agent's phone; people read the agent's name)."""
    from web.auth import current_user
    from web.services import services

    with services().sessions() as s:
        rows = s.execute(
            select(PhoneEndpoint.name, User.display_name, User.login)
            .join(User, User.id == PhoneEndpoint.user_id)
            .where(PhoneEndpoint.tenant_id == current_user().tenant_id))
        return {endpoint: name or login for endpoint, name, login in rows}
