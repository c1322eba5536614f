"""What an ``/api/v1`` view answers, declared next to it for the API description.

A view says what it returns with :func:`responds` (``@responds(TokenList)``), kept on the
view as ``centrala_responses`` the way :func:`web.validation.validated` keeps the request
schemas; :mod:`web.api.openapi` reads both. A view that declares nothing is described as
answering a JSON object (200). Every view may answer the one error shape of
:mod:`web.errors`, described here once as :class:`ErrorResponse`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

F = TypeVar("F", bound=Callable[..., Any])


class FieldProblemOut(BaseModel):
    """One wrong input: its field, what is wrong, its JSON pointer in the body."""

    field: str
    message: str
    pointer: str = ""


class ErrorBody(BaseModel):
    """``id`` is machine-readable (``invalid``, ``not_found``, ``rate_limited``…);
    ``details`` names the field(s) of an input error (``field``, ``message``, ``errors``)."""

    model_config = ConfigDict(title="ErrorBody")

    id: str = Field(examples=["invalid"])
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """Every error of the API, whatever its status."""

    error: ErrorBody


def responds(model: type[BaseModel] | None, status: int = 200,
             content_type: str = "application/json") -> Callable[[F], F]:
    """Declare that the view answers ``status`` with a body of ``model`` (None: no body)."""

    def decorate(view: F) -> F:
        declared: dict[int, tuple[type[BaseModel] | None, str]] = dict(
            getattr(view, "centrala_responses", {}))
        declared[status] = (model, content_type)
        view.centrala_responses = declared  # type: ignore[attr-defined]
        return view

    return decorate
