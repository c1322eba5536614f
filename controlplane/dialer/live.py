"""The dialer's seam to live calls: "place this call", "this is what happened" (pure, no I/O).

A campaign runner builds a :class:`PlaceCall`; the call service places it
(:mod:`controlplane.calls.campaign_glue`) and answers with one
:class:`AttemptResult` per attempt, carrying the compliance timestamps:

    dial_at           the originate request left for the trunk
    answer_at         the customer's leg was answered (Asterisk's StasisStart time)
    amd_decision_at   our detector's verdict was in hand
    greeting_end_at   the end of the customer's greeting as the platform knows it: the AMD
                      HUMAN (or NOTSURE) decision, which comes at the first pause after the
                      first utterance; with AMD off, the answer itself
    agent_connect_at  an agent leg answered and was bridged to the customer
    message_start_at  the abandon message started playing
    ended_at          the customer's leg was gone

Outcomes: ``human`` (a person answered; ``agent_connect_at`` says whether an agent got
them), ``machine``, ``no_answer``, ``busy``, ``failed``, ``unallocated``, ``abandoned`` (a
person answered, no agent within the connect window: the abandon message was played),
``refused`` (the toll-fraud guard refused the number: nothing was dialled).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from controlplane.dialer.exceptions import InvalidPlaceCall as InvalidPlaceCall

OUTCOMES = ("human", "machine", "no_answer", "busy", "failed", "unallocated", "abandoned",
            "refused")
MIN_RING_TIMEOUT_S = 15  # US TSR: ring at least 15 s (or four rings) before giving up
MAX_RING_TIMEOUT_S = 120
CALL_ID_PREFIX = "campaign-"

_ATTEMPT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_CALLER_ID = re.compile(r"^\+?[0-9]{0,20}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIALLED = re.compile(r"^[0-9]{0,40}$")

# Q.850 causes of a customer leg that ended before answer.
BUSY_CAUSES = frozenset({17})
NO_ANSWER_CAUSES = frozenset({18, 19, 21})
UNALLOCATED_CAUSES = frozenset({1, 3, 28})


@dataclass(frozen=True)
class PlaceCall:
    """One outbound attempt. ``abandon_prompt`` is ``sound:<name>`` or TTS text (in ``voice``)."""

    attempt_id: str
    tenant_id: int
    number: str
    trunk: str
    caller_id: str
    queue: str
    abandon_prompt: str
    ring_timeout_s: int = 30
    amd: bool = True
    priority: int = 0
    skills: tuple[str, ...] = ()
    voice: str = "en"
    # the digits the carrier receives, after the outbound route's strip/prepend ("": the
    # number without its '+', as before routes)
    dialled: str = ""

    def __post_init__(self) -> None:
        def bad(field: str, reason: str) -> InvalidPlaceCall:
            return InvalidPlaceCall(field, reason, self.attempt_id or None)

        if not _ATTEMPT_ID.match(self.attempt_id) or "-agent" in self.attempt_id:
            raise bad("attempt_id", "1-64 of A-Z a-z 0-9 _ . - (and not containing '-agent')")
        if not _NUMBER.match(self.number):
            raise bad("number", f"{self.number!r} is not 3-20 digits with an optional '+'")
        if not _NAME.match(self.trunk):
            raise bad("trunk", f"{self.trunk!r} is not a trunk name")
        if not _DIALLED.match(self.dialled):
            raise bad("dialled", f"{self.dialled!r} is not up to 40 digits")
        if not _CALLER_ID.match(self.caller_id):
            raise bad("caller_id", f"{self.caller_id!r} is not up to 20 digits")
        if not _NAME.match(self.queue):
            raise bad("queue", f"{self.queue!r} is not a queue name")
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise bad("ring_timeout_s", f"{self.ring_timeout_s} s is below the legal minimum "
                                        f"of {MIN_RING_TIMEOUT_S} s of ringing")
        if self.ring_timeout_s > MAX_RING_TIMEOUT_S:
            raise bad("ring_timeout_s", f"{self.ring_timeout_s} s is above {MAX_RING_TIMEOUT_S} s")
        if not self.abandon_prompt.strip():
            raise bad("abandon_prompt", "required: a person not given an agent in time must "
                                        "hear a message")

    @property
    def call_id(self) -> str:
        """The customer channel's id, derived so a restarted daemon finds the call."""
        return call_id_for(self.attempt_id)

    @property
    def dial(self) -> str:
        """The ARI endpoint of the customer leg over the tenant's trunk."""
        return f"PJSIP/{self.dialled or self.number.lstrip('+')}@{self.trunk}"

    @staticmethod
    def from_command(data: dict[str, Any]) -> PlaceCall:
        """Parse a ``{"cmd": "dialer.place", ...}`` command; raises :class:`InvalidPlaceCall`."""
        attempt = str(data.get("attempt_id") or "") or None
        fields: dict[str, Any] = {}
        for name, kind in (("attempt_id", str), ("tenant_id", int), ("number", str),
                           ("trunk", str), ("caller_id", str), ("queue", str),
                           ("abandon_prompt", str), ("ring_timeout_s", int), ("priority", int),
                           ("voice", str), ("dialled", str)):
            if name not in data:
                continue
            value = data[name]
            if kind is int and (isinstance(value, bool) or not isinstance(value, int | str)):
                raise InvalidPlaceCall(name, f"{value!r} is not an integer", attempt)
            try:
                fields[name] = kind(value)
            except (TypeError, ValueError):
                raise InvalidPlaceCall(name, f"{value!r} is not {kind.__name__}", attempt) from None
        for name in ("attempt_id", "tenant_id", "number", "trunk", "queue", "abandon_prompt"):
            if name not in fields:
                raise InvalidPlaceCall(name, "missing", attempt)
        fields.setdefault("caller_id", "")
        if "amd" in data:
            if not isinstance(data["amd"], bool):
                raise InvalidPlaceCall("amd", f"{data['amd']!r} is not true/false", attempt)
            fields["amd"] = data["amd"]
        skills = data.get("skills", ())
        if not isinstance(skills, list | tuple) or not all(isinstance(s, str) for s in skills):
            raise InvalidPlaceCall("skills", "a list of skill names", attempt)
        fields["skills"] = tuple(skills)
        return PlaceCall(**fields)


def call_id_for(attempt_id: str) -> str:
    return CALL_ID_PREFIX + attempt_id


def attempt_of(call_id: str) -> str | None:
    """``campaign-<attempt>`` → ``<attempt>``; any other id → None."""
    return call_id.removeprefix(CALL_ID_PREFIX) if call_id.startswith(CALL_ID_PREFIX) else None


@dataclass(frozen=True)
class AttemptResult:
    """What happened to one :class:`PlaceCall` (see the module docstring for the timestamps).

    ``amd_verdict`` is our detector's HUMAN/MACHINE/NOTSURE (None: AMD off or never
    answered); ``amd_source`` says how it was reached: ``detector`` (a decision on the
    audio), ``timeout`` (decided with what was heard at the time limit), ``hangup`` (the
    party hung up first), ``error`` (detection failed: treated as NOTSURE), ``off``,
    or ``none`` (not answered). ``app_amd_verdict`` is Asterisk's ``AMD()`` on the same audio.
    """

    attempt_id: str
    call_id: str
    tenant_id: int | None
    number: str
    outcome: str
    amd_verdict: str | None
    amd_source: str
    app_amd_verdict: str | None
    hangup_cause: int | None
    hangup_cause_txt: str | None
    hangup_by: str | None
    agent_endpoint: str | None
    dial_at: datetime | None
    answer_at: datetime | None
    greeting_end_at: datetime | None
    amd_decision_at: datetime | None
    agent_connect_at: datetime | None
    message_start_at: datetime | None
    ended_at: datetime | None
    note: str = ""

    def to_event(self) -> dict[str, Any]:
        """JSON-ready fields (ISO 8601 times) for the ``dialer.attempt`` event."""
        return {k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in asdict(self).items()}

    @staticmethod
    def from_event(data: dict[str, Any]) -> AttemptResult:
        """The inverse of :meth:`to_event` (for readers of ``centrala:events``)."""
        times = {k for k in AttemptResult.__dataclass_fields__ if k.endswith("_at")}
        fields: dict[str, Any] = {k: (datetime.fromisoformat(v) if k in times and v else v)
                                  for k, v in data.items()
                                  if k in AttemptResult.__dataclass_fields__}
        return AttemptResult(**fields)


def classify(*, answered: bool, cause: int | None, rang_s: float | None, ring_timeout_s: int,
             amd_verdict: str | None, abandoned: bool) -> str:
    """The outcome of an attempt.

    Never answered: by the Q.850 cause (17 busy; 18/19/21 no answer; 1/3/28 unallocated)
    or, for any other cause, ``no_answer`` when it rang for the whole ring timeout
    (Asterisk ends a timed-out originate with a plain cause) and ``failed`` otherwise.
    Answered: ``machine`` when our detector said MACHINE (NOTSURE counts as a person),
    ``abandoned`` when the abandon message was started, else ``human``.
    """
    if not answered:
        if cause in BUSY_CAUSES:
            return "busy"
        if cause in NO_ANSWER_CAUSES:
            return "no_answer"
        if cause in UNALLOCATED_CAUSES:
            return "unallocated"
        if rang_s is not None and rang_s >= ring_timeout_s - 0.5:
            return "no_answer"
        return "failed"
    if amd_verdict == "MACHINE":
        return "machine"
    return "abandoned" if abandoned else "human"
