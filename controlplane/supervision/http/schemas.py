"""Supervision's request schemas: ``POST /api/v1/supervision``, ``PATCH …/<id>`` and the
panel's buttons (one form for start, switch and stop)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from web.schemas.common import ONE_LINE, Body, Form, Id

Mode = Literal["listen", "whisper", "barge"]
CallId = Annotated[str, Field(min_length=1, max_length=128), ONE_LINE]


class StartBody(Body):
    """``{"agent_id": 12, "mode": "listen"}`` or ``{"call_id": "…", "mode": "barge"}``:
    an agent or a call, never both (and never a channel)."""

    agent_id: Id | None = None
    call_id: CallId | None = None
    mode: Mode


class ModeBody(Body):
    """``{"mode": "whisper"}``: switch the session without redialling."""

    mode: Mode


class SuperviseForm(Form):
    """A button of the live calls page or the agents board: ``target`` agent:<id> or
    call:<id> with a ``mode`` to start; ``session`` with a ``mode`` to switch, or with
    ``stop`` to end; ``back``: the page to return to."""

    target: Annotated[str, Field(max_length=140)] = ""
    session: Annotated[str, Field(max_length=12)] = ""
    mode: Annotated[str, Field(max_length=8)] = ""
    stop: Annotated[str, Field(max_length=4)] = ""
    back: Annotated[str, Field(max_length=16)] = ""
