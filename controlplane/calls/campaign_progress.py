"""A campaign attempt's progress beside its call state, and the result it leads to.

:class:`_Progress` is what :class:`~controlplane.calls.campaign_glue.CampaignCalls` learns
about one attempt (times, AMD verdicts); it is kept in Redis as JSON
(:func:`dump_progress`, :func:`load_progress`) so a restarted daemon carries the attempt
on, and :func:`_result` turns it and the final call state into the dialer's
:class:`~controlplane.dialer.live.AttemptResult`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine
from controlplane.calls.common import now
from controlplane.dialer.live import AttemptResult, PlaceCall, attempt_of, classify


@dataclass(frozen=True)
class _Progress:
    """What the adapter learns about one attempt beside the call machine's state."""

    place: PlaceCall
    plan: cm.CampaignPlan
    dial_at: datetime | None = None
    answer_at: datetime | None = None
    greeting_end_at: datetime | None = None
    amd_decision_at: datetime | None = None
    amd_verdict: str | None = None
    amd_cause: str | None = None
    amd_source: str = "none"
    amd_decision_ms: int | None = None
    app_amd: tuple[str, str, int | None] | None = None  # status, cause, ms from answer
    abandoned: bool = False
    message_start_at: datetime | None = None


def _result(state: machine.CallState, prog: _Progress | None) -> AttemptResult:
    """The attempt's outcome from the final call state and what the adapter saw."""
    attempt = attempt_of(state.call_id) or state.call_id
    connected = state.answered_at  # the agent leg answered and was bridged
    common: dict[str, Any] = dict(attempt_id=attempt, call_id=state.call_id, tenant_id=state.tenant_id,
                  number=state.callee, hangup_cause=state.hangup_cause,
                  hangup_cause_txt=state.hangup_cause_txt, hangup_by=state.hangup_by,
                  agent_endpoint=state.agent_endpoint if connected else None,
                  agent_connect_at=connected, ended_at=state.ended_at)
    if prog is None:
        return AttemptResult(**common, outcome="failed", amd_verdict=None, amd_source="none",
                             app_amd_verdict=None, dial_at=None, answer_at=None,
                             greeting_end_at=None, amd_decision_at=None, message_start_at=None,
                             note="the control plane restarted during the attempt")
    answered = prog.answer_at is not None
    rang = None
    if not answered and prog.dial_at is not None:
        rang = ((state.ended_at or now()) - prog.dial_at).total_seconds()
    outcome = classify(answered=answered, cause=state.hangup_cause, rang_s=rang,
                       ring_timeout_s=prog.place.ring_timeout_s, amd_verdict=prog.amd_verdict,
                       abandoned=prog.abandoned)
    source = prog.amd_source if answered and prog.place.amd else ("off" if answered else "none")
    return AttemptResult(**common, outcome=outcome, amd_verdict=prog.amd_verdict,
                         amd_source=source,
                         app_amd_verdict=prog.app_amd[0] if prog.app_amd else None,
                         dial_at=prog.dial_at, answer_at=prog.answer_at,
                         greeting_end_at=prog.greeting_end_at if answered and prog.place.amd
                         else prog.answer_at,
                         amd_decision_at=prog.amd_decision_at,
                         message_start_at=prog.message_start_at)


def dump_progress(prog: _Progress) -> str:
    """An attempt's progress as JSON (times in ISO 8601)."""
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return json.dumps({
        "place": asdict(prog.place), "plan": asdict(prog.plan),
        "dial_at": iso(prog.dial_at), "answer_at": iso(prog.answer_at),
        "greeting_end_at": iso(prog.greeting_end_at), "amd_decision_at": iso(prog.amd_decision_at),
        "amd_verdict": prog.amd_verdict, "amd_cause": prog.amd_cause,
        "amd_source": prog.amd_source, "amd_decision_ms": prog.amd_decision_ms,
        "app_amd": list(prog.app_amd) if prog.app_amd else None, "abandoned": prog.abandoned,
        "message_start_at": iso(prog.message_start_at),
    })


def load_progress(raw: str | bytes) -> _Progress:
    """The inverse of :func:`dump_progress`."""
    d = json.loads(raw)

    def at(key: str) -> datetime | None:
        return datetime.fromisoformat(d[key]) if d.get(key) else None

    place = PlaceCall(**{**d["place"], "skills": tuple(d["place"].get("skills", ()))})
    plan = cm.CampaignPlan(**{**d["plan"], "skills": tuple(d["plan"].get("skills", ()))})
    app = d.get("app_amd")
    return _Progress(place, plan, dial_at=at("dial_at"), answer_at=at("answer_at"),
                     greeting_end_at=at("greeting_end_at"), amd_decision_at=at("amd_decision_at"),
                     amd_verdict=d.get("amd_verdict"), amd_cause=d.get("amd_cause"),
                     amd_source=d.get("amd_source", "none"),
                     amd_decision_ms=d.get("amd_decision_ms"),
                     app_amd=(app[0], app[1], app[2]) if app else None,
                     abandoned=bool(d.get("abandoned")), message_start_at=at("message_start_at"))
