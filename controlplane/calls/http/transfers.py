"""Transfers of a talking call under ``/api/v1/calls/<id>`` (blueprint ``api``): blind (to a
queue, an agent or a number) and attended (consult, then complete or cancel). The daemon
decides (``controlplane.calls.transfers``); a refusal comes back as a 4xx with its code."""

from __future__ import annotations

from typing import Annotated, Any

import redis
from flask import jsonify
from pydantic import BaseModel, Field, model_validator

from controlplane.bus import ControlPlaneNotAnswering, send_transfer
from controlplane.calls.http.api import Unavailable, bp
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import PanelError
from web.schemas.common import Body, Id
from web.services import services
from web.validation import validated

Dialled = Annotated[str, Field(pattern=r"^\+?[0-9]{3,20}$")]


class TransferBody(Body):
    """Exactly one target: a queue of your tenant, an agent of it (through the call's queue:
    rung first, then the queue's agents) or a number (routed over your outbound routes)."""

    queue_id: Id | None = None
    agent_id: Id | None = None
    number: Dialled | None = None

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        given = [n for n in ("queue_id", "agent_id", "number") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of queue_id, agent_id, number")
        return self

    def target(self) -> tuple[str, int | str]:
        if self.queue_id is not None:
            return "queue", self.queue_id
        if self.agent_id is not None:
            return "agent", self.agent_id
        assert self.number is not None
        return "number", self.number


class TransferOut(BaseModel):
    call_id: str
    queue: str | None = None
    agent: str | None = None
    number: str | None = None


class Refused(PanelError):
    """The control plane's refusal of a transfer, with its status and reason."""

    def __init__(self, message: str, status: int, error_id: str) -> None:
        super().__init__(message)
        self.status, self.error_id = status, error_id


REFUSAL_STATUS = {"not_found": 404, "not_talking": 409, "foreign_object": 404,
                  "not_transferable": 409, "not_queued": 409, "no_route": 422, "refused": 403,
                  "consulting": 409, "not_consulting": 409, "not_answered": 409}


@bp.post("/calls/<string:call_id>/transfer")
@login_required()
@validated(body=TransferBody)
@responds(TransferOut)
def transfer(call_id: str, body: TransferBody) -> Any:
    """A blind transfer of a talking customer's call: to queue ``queue_id`` (the caller waits
    for the next agent), to agent ``agent_id`` (rung first, then the call's queue) or to
    ``number`` (the caller hears it ring; unanswered, a queued call goes back to its queue).
    Your leg ends (agents: only a call on their own phone; supervisors: any of the tenant)."""
    result = _ask(call_id, *body.target())
    return jsonify({"call_id": call_id, **{k: result[k] for k in ("queue", "agent", "number")
                                           if k in result}})


def _ask(call_id: str, kind: str, value: int | str) -> dict[str, Any]:
    """Send one transfer command for the signed-in user; a refusal raises :class:`Refused`."""
    user, svc = current_user(), services()
    if len(call_id) > 128:
        raise Refused("no such call", 404, "not_found")
    try:
        result = send_transfer(svc.redis, user.tenant_id, user.id, call_id, kind, value)
    except ControlPlaneNotAnswering as err:
        raise Unavailable(str(err)) from err
    except redis.RedisError as err:
        raise Unavailable("transfer unavailable (Redis is not reachable)") from err
    if not result.get("ok"):
        code = str(result.get("code") or "refused")
        raise Refused(str(result.get("message") or "refused"), REFUSAL_STATUS.get(code, 403),
                      code)
    return result


class ConsultBody(Body):
    """Exactly one party to consult: a colleague (their phone rings) or a number."""

    agent_id: Id | None = None
    number: Dialled | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ConsultBody:
        if (self.agent_id is None) == (self.number is None):
            raise ValueError("give exactly one of agent_id, number")
        return self


class ConsultOut(BaseModel):
    call_id: str
    consult: str


@bp.post("/calls/<string:call_id>/consult")
@login_required()
@validated(body=ConsultBody)
@responds(ConsultOut)
def consult(call_id: str, body: ConsultBody) -> Any:
    """An attended transfer, step 1: the caller holds (music) while your phone's call goes
    to a colleague or a number; then ``/consult/complete`` or ``/consult/cancel``."""
    kind, value = (("agent", body.agent_id) if body.agent_id is not None
                   else ("number", body.number or ""))
    _ask(call_id, "consult_" + kind, value)
    return jsonify({"call_id": call_id, "consult": kind})


@bp.post("/calls/<string:call_id>/consult/<any(complete, cancel):action>")
@login_required()
@validated()
@responds(ConsultOut)
def consult_end(call_id: str, action: str) -> Any:
    """Step 2: ``complete`` hands the caller over to the consulted party (who must have
    answered; your leg ends), ``cancel`` brings you back to the caller."""
    _ask(call_id, "consult_end", action)
    return jsonify({"call_id": call_id, "consult": action})
