"""Agents: the status command an agent or a supervisor sends (``/api/v1/agents/<id>/command``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from controlplane.bus import AGENT_ACTIONS
from web.schemas.common import ONE_LINE, Body

Command = Literal[AGENT_ACTIONS]  # type: ignore[valid-type]
MAX_REASON_LEN = 32


class AgentCommand(Body):
    """``{"command": "break", "reason": "2"}``; ``reason`` is a break reason code."""

    command: Command
    reason: Annotated[str, Field(max_length=MAX_REASON_LEN), ONE_LINE] | None = None
