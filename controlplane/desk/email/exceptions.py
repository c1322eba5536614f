"""The e-mail channel's user-facing errors, under the one error root.

A field error is the panel's common 422 ``invalid_form`` (each problem with its field and
JSON pointer: :class:`controlplane.admin.exceptions.InvalidFields`, reused so every form
of the administration reads the same).
"""

from __future__ import annotations

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.errors import NotFound

__all__ = ["FieldIssue", "InvalidFields", "MailboxNotFound"]


class MailboxNotFound(NotFound):
    """No such mailbox in the user's tenant."""

    error_id = "mailbox_not_found"
