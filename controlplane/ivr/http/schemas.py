"""The IVR room's request schemas for ``/api/v1/ivr-flows`` (shared with the API description).

The flow document itself is checked by the flow validator (:mod:`ivr_flows.validator`),
which names every problem with its JSON pointer and a hint; the schema here only says it
is a JSON object, so that a malformed flow gets the validator's words, as on the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, RootModel

from web.schemas.common import MAX_INT, ONE_LINE, Body, Query

FlowName = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]


class FlowDocument(RootModel[dict[str, Any]]):
    """A flow document (the format of ``ivr_flows/``: ``id``, ``start``, ``nodes``…)."""


class SaveQuery(Query):
    """``name``: the flow to store the document under (default: the document's ``id``)."""

    name: FlowName | None = None


class RollbackBody(Body):
    """``version``: an earlier published version of the flow."""

    version: Annotated[int, Field(ge=1, le=MAX_INT)]
