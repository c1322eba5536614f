"""``PUT /api/v1/users/<id>`` and the user edit page: what an administrator may change.

Every field is optional (a partial update); ``locale`` null or ``""`` means "the tenant's
language". The rules between users (the last administrator, one's own account) are
:mod:`controlplane.tenants.user_admin`'s and come back as 409.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from web.schemas.common import ONE_LINE, Body, Form

RoleName = Literal["admin", "supervisor", "agent"]


class UserUpdate(Body):
    """A user's fields to change: ``display_name``, ``role``, ``locale`` (``pl``, ``en``,
    null for the tenant's), ``active`` (false: as ``DELETE``)."""

    display_name: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    role: RoleName | None = None
    locale: Literal["", "pl", "en"] | None = None
    active: bool | None = None

    @field_validator("role", "active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep its value)")
        return value


class UserEditForm(Form):
    """The edit page's form: the same fields as text (checked again by :class:`UserUpdate`)."""

    display_name: str = ""
    role: str = ""
    locale: str = ""
