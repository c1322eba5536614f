"""Building blocks shared by every area's schemas: base models, ids, bounded numbers, text.

Bounds come from the storage: ids and counts are PostgreSQL ``integer``
(2^31-1), numbers are finite doubles kept to a sane range, strings have a
length limit and no control characters (a single-line :data:`Line`) or only
tab and newlines (:data:`Text`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from werkzeug.datastructures import FileStorage

MAX_INT = 2**31 - 1
MAX_NUMBER = 1e9
MAX_ITEMS = 1000

_LINE_BAD = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_TEXT_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _line(value: str) -> str:
    if _LINE_BAD.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


def _text(value: str) -> str:
    if _TEXT_BAD.search(value):
        raise ValueError("must be text without control characters")
    return value


Id = Annotated[int, Field(ge=1, le=MAX_INT)]
"""A database id."""
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
SignedInt = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]


@dataclass(frozen=True)
class _Checked:
    """An after-validator that also says what it allows in the JSON Schema (a ``pattern``),
    so the API description (and a client generated from it) knows the rule too."""

    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return AfterValidator(self.check).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema: Any,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = self.pattern
        return out


ONE_LINE = _Checked(_line, r"^[^\x00-\x1f\x7f]*$")
"""Use as ``Annotated[str, Field(max_length=64), ONE_LINE]``: one line, no control
characters."""
MULTI_LINE = _Checked(_text, r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
"""Text where tab and newlines are allowed, other control characters not."""


class Body(BaseModel):
    """A JSON body: unknown fields refused, JSON types taken strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def given(self) -> dict[str, Any]:
        """Only the fields the client sent (a partial update changes only those)."""
        return self.model_dump(exclude_unset=True, by_alias=False)


class Form(BaseModel):
    """A page's posted form: text fields, unknown ones refused (the CSRF token is set
    aside before, it was checked already); an empty field is the empty string."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def file_part(attach: str) -> Any:
    """The type of a multipart form's file field (:func:`web.validation.parse_form` passes
    files in); ``attach`` tells the client how to send it (``curl -F file=@…``). Missing, or
    a text field in its place (a part without a filename), is refused with that hint."""

    def check(value: Any) -> FileStorage:
        if value is None:
            raise ValueError(attach)
        if not isinstance(value, FileStorage):
            raise ValueError(f"must be a file part with a filename, not text; {attach}")
        return value

    return Annotated[FileStorage, PlainValidator(check),
                     WithJsonSchema({"type": "string", "format": "binary"})]  # OpenAPI's file


def file_required(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of a form whose ``file`` field is required (its default only
    stands for "not sent", so that the hint above names it instead of a bare "required")."""
    schema["properties"]["file"].pop("default", None)
    schema.setdefault("required", []).append("file")


class Query(BaseModel):
    """Query parameters: text converted leniently; an empty value means "not given"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data
