"""A user's own account: the password form (``POST /account/password``).

The model bounds what is read (so a megabyte "password" never reaches argon2)
and refuses unknown fields; the password rules (length, differs from the
current one, typed twice alike) are :mod:`web.account`'s and are shown next to
their field on the form.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from web.schemas.common import Form

MAX_FIELD_LEN = 1024  # far above any password rule, so the rule's message is what users see

Secret = Annotated[str, Field(max_length=MAX_FIELD_LEN)]


class PasswordChange(Form):
    """``current``, ``new`` and ``confirm`` (the new password again); missing is empty."""

    current: Secret = ""
    new: Secret = ""
    confirm: Secret = ""


class LanguageChoice(Form):
    """``locale``: ``pl``, ``en``, or empty for the tenant's language."""

    locale: Literal["", "pl", "en"] = ""
