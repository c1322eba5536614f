"""The chat room's user-facing errors, under the one error root (:mod:`controlplane.errors`).

The visitor API and the console raise these; the panel renders them in the common shape
(``{"error": {"id", "message", "details"}}``).
"""

from __future__ import annotations

from controlplane.errors import CentralaError, Conflict, Forbidden, NotFound


class ChatNotFound(NotFound):
    """No such chat (or widget) for this visitor or in this tenant."""

    error_id = "chat_not_found"


class OriginRefused(Forbidden):
    """The page's origin is not one of the widget's allowed websites."""

    error_id = "origin_refused"


class TooManyRequests(CentralaError):
    """A visitor (address or chat) went past the rate limit; ``retry_after`` seconds."""

    status = 429
    error_id = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ChatClosed(Conflict):
    """The chat has ended (or is not in a state the action fits)."""

    error_id = "chat_closed"


class NotYourChat(Forbidden):
    """The agent does not hold this chat."""

    error_id = "not_your_chat"


class BadIdentity(CentralaError):
    """A signed visitor identity whose signature does not hold."""

    status = 400
    error_id = "bad_identity"
