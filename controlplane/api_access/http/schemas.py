"""API tokens: what a request sends (``/api/v1/tokens``, the "API tokens" form) and what
the API answers (described in the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from web.schemas.common import ONE_LINE, Body, Form

MAX_DAYS = 3650
Scope = Literal["read", "write", "admin"]
Name = Annotated[str, Field(min_length=1, max_length=100), ONE_LINE]


class TokenCreate(Body):
    """A token to make: a name to recognise it by, its scope, and (optionally) the number
    of days it works (none: until revoked)."""

    name: Name
    scope: Scope = "read"
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class TokenForm(Form):
    """The page's form: the same fields as text; an empty expiry means "never"."""

    name: Annotated[str, Field(max_length=100), ONE_LINE] = ""
    scope: str = "read"
    expires_in_days: Annotated[str, Field(max_length=10)] = ""


class TokenOut(BaseModel):
    """A token as it is listed: never its secret."""

    id: int
    name: str
    scope: Scope
    prefix: str = Field(description="the secret's first characters, to tell tokens apart")
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_from: str
    active: bool


class TokenList(BaseModel):
    """Your API tokens, newest first."""

    tokens: list[TokenOut]


class TokenCreated(TokenOut):
    """The new token, with its secret: shown this once, never again."""

    token: str = Field(description="send as 'Authorization: Bearer <token>'")
