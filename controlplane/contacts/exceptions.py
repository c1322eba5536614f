"""The contacts room's user-facing errors, under the one error root (:mod:`controlplane.errors`).

Field errors reuse the admin room's :class:`~controlplane.admin.exceptions.InvalidFields`
(422 ``invalid_form``, each problem with its field and JSON pointer), so every form of the
panel reports them alike.
"""

from __future__ import annotations

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.errors import Conflict, NotFound

__all__ = ["ContactInUse", "ContactNotFound", "FieldIssue", "InvalidFields", "NumberTaken"]


class ContactNotFound(NotFound):
    """No such contact in the user's tenant (another tenant's are "not found" too)."""

    error_id = "contact_not_found"


class NumberTaken(Conflict):
    """A number is already another contact's in the tenant; ``details`` names that contact
    (its id and name) so the user can open it or merge the two."""

    error_id = "number_taken"

    def __init__(self, number: str, field: str, contact_id: int, name: str) -> None:
        super().__init__(
            f"{number} is already the number of contact #{contact_id} ({name or 'no name'}); "
            f"merge the two contacts instead",
            details={"field": field, "number": number, "contact_id": contact_id,
                     "contact_name": name})
        self.number, self.field, self.contact_id, self.name = number, field, contact_id, name


class ContactInUse(Conflict):
    """The contact cannot be deleted or merged away as asked (``details.reason``)."""

    error_id = "contact_in_use"
