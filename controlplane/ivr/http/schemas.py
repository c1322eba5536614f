"""The IVR room's request schemas for ``/api/v1/ivr-flows`` (shared with the API description).

The flow document itself is checked by the flow validator (:mod:`ivr_flows.validator`),
which names every problem with its JSON pointer and a hint; the schema here only says it
is a JSON object, so that a malformed flow gets the validator's words, as on the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel

from web.schemas.common import (
    MAX_INT,
    ONE_LINE,
    Body,
    Form,
    Query,
    file_part,
    file_required,
)

FlowName = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]


class FlowDocument(RootModel[dict[str, Any]]):
    """A flow document (the format of ``ivr_flows/``: ``id``, ``start``, ``nodes``…)."""


class SaveQuery(Query):
    """``name``: the flow to store the document under (default: the document's ``id``)."""

    name: FlowName | None = None


class RollbackBody(Body):
    """``version``: an earlier published version of the flow."""

    version: Annotated[int, Field(ge=1, le=MAX_INT)]


PROMPT_ATTACH = "attach the recording as the multipart field 'file' (curl -F file=@welcome.wav)"
PromptFile = file_part(PROMPT_ATTACH)
PromptName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                  description="letters, digits, '-', '_' or '.', at most 64")]


class PromptUpload(Form):
    """``name``: what flows call it (``{"audio": name}``); ``file``: the recording (WAV,
    MP3, FLAC, OGG… anything sox reads; at most 20 MiB and 10 minutes), converted to 8 kHz
    mono. A name already used replaces that prompt."""

    model_config = ConfigDict(json_schema_extra=file_required)

    name: PromptName
    file: PromptFile = Field(default=None, validate_default=True)
