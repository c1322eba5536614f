"""The admin room's user-facing errors, under the one error root (:mod:`controlplane.errors`).

Every one is rendered by the panel and the API in the common shape
(``{"error": {"id", "message", "details"}}``): a field error names its field (and JSON
pointer), a refused configuration lists each problem with the object and field it is
about, an object in use says what uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from controlplane.errors import CentralaError, Conflict, NotFound
from dialplan.problems import ConfigProblem


class AdminError(CentralaError):
    """Base error of the admin room."""

    error_id = "admin_error"


class AdminNotFound(NotFound):
    """No such object in the user's tenant (another tenant's objects are "not found" too)."""


@dataclass(frozen=True)
class FieldIssue:
    """One wrong value: ``field`` as the form and the JSON body name it."""

    field: str
    message: str

    @property
    def pointer(self) -> str:
        return "/" + self.field.replace(".", "/")


class InvalidFields(AdminError):
    """Values that break a rule (unique, exists in the tenant, exactly one target): 422
    ``invalid_form``, each problem with its field, as every form of the panel."""

    status = 422
    error_id = "invalid_form"

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        assert issues, "InvalidFields needs at least one issue"
        self.issues = tuple(issues)
        errors = [{"field": i.field, "message": i.message, "pointer": i.pointer} for i in issues]
        super().__init__("; ".join(f"field '{i.field}': {i.message}" for i in issues),
                         details={"field": issues[0].field, "message": issues[0].message,
                                  "errors": errors})

    def by_field(self) -> dict[str, str]:
        return {i.field: i.message for i in self.issues}


class ConfigRefused(AdminError):
    """Asterisk's configuration could not be rendered with the change: nothing was saved
    and the running configuration is untouched; ``details.problems`` lists every problem."""

    status = 422
    error_id = "config_refused"

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("the Asterisk configuration would be invalid: "
                         + "; ".join(str(p) for p in problems),
                         details={"problems": [asdict(p) for p in problems]})


class InUse(Conflict):
    """The object is still used (a DID routes to the phone, a published flow names the
    queue); ``details.used_by`` says by what."""

    error_id = "in_use"

    def __init__(self, message: str, used_by: Sequence[str]) -> None:
        super().__init__(message, details={"used_by": list(used_by)})
