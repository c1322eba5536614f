"""What can go wrong when a supervisor asks to supervise (shown in the panel and the API)."""

from __future__ import annotations

from controlplane.errors import CentralaError, Conflict, NotFound


class SupervisionError(CentralaError):
    error_id = "supervision_refused"


class NothingToSupervise(NotFound):
    """The agent is on no call, or the call is not (or no longer) connected to an agent."""

    error_id = "not_on_call"


class NoSupervisorPhone(Conflict):
    error_id = "no_phone"


class SessionNotFound(NotFound):
    error_id = "session_not_found"


class AlreadySupervising(Conflict):
    error_id = "already_supervising"
