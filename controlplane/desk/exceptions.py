"""The desk's user-facing errors, under the one error root (:mod:`controlplane.errors`).

Field errors reuse the admin room's :class:`~controlplane.admin.exceptions.InvalidFields`
(422 ``invalid_form``, each problem with its field), so every form of the panel reports
them alike. A ticket another agent may not see is "not found", as another tenant's is.
"""

from __future__ import annotations

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.errors import CentralaError, Conflict, NotFound

__all__ = ["AttachmentNotFound", "FieldIssue", "InvalidFields", "NothingWaiting",
           "TemplateInvalid", "TicketNotFound", "TicketMerged", "DeskNotFound"]


class TicketNotFound(NotFound):
    """No such ticket in the user's tenant, or not one the agent may see."""

    error_id = "ticket_not_found"


class DeskNotFound(NotFound):
    """No such category, template, view or rule in the user's tenant."""

    error_id = "desk_not_found"


class AttachmentNotFound(NotFound):
    """No such attachment on a message of the ticket, or its file is not kept."""

    error_id = "attachment_not_found"


class TicketMerged(Conflict):
    """The ticket was merged into another; changes go to that one (``details.merged_into``)."""

    error_id = "ticket_merged"

    def __init__(self, number: int, into_id: int, into_number: int) -> None:
        super().__init__(f"ticket #{number} was merged into #{into_number}",
                         details={"merged_into": into_id, "merged_into_number": into_number})


class NothingWaiting(NotFound):
    """"Next ticket": no unassigned ticket waits in the agent's queues."""

    error_id = "no_ticket_waiting"


class TemplateInvalid(CentralaError):
    """A response template that does not render: a syntax error, an unknown parameter or
    something the sandbox refuses. ``details.parameter`` names the parameter when one is
    to blame, ``details.field`` the field (``body``)."""

    status = 400
    error_id = "template_invalid"

    def __init__(self, message: str, parameter: str | None = None) -> None:
        details: dict[str, object] = {"field": "body", "message": message}
        if parameter:
            details["parameter"] = parameter
        super().__init__(message, details=details)
