"""The request schema of an outbound route (pages, ``/api/v1/outbound-routes``, the API
description). Shape, types and bounds here (a malformed prefix is a 400 naming
``prefixes``); the rules across objects (the trunks are the tenant's, the name is free) are
:mod:`controlplane.admin.routes`'. ``null`` means blank, as an empty form field does."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from controlplane.admin.outbound_routes import MAX_PREFIXES, MAX_STRIP
from controlplane.admin.routes import MAX_TRUNKS
from web.schemas.common import Body, Id

Prefix = Annotated[str, Field(pattern=r"^\+?[0-9]{1,15}$")]


class OutboundRouteBody(Body):
    """An outbound route: ``name``; ``prefixes`` the numbers it takes (digits, optional
    '+'; empty: any number, the default route; the longest matching prefix wins);
    ``trunk_ids`` the tenant's trunks in order (the first is used, the others are failover);
    ``strip`` digits removed from the front and ``prepend`` digits put there; ``caller_id``
    to present (optional); ``enabled``; ``position`` its place in the order (0 first)."""

    name: Annotated[str, Field(min_length=1, max_length=64,
                               pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    prefixes: Annotated[list[Prefix], Field(max_length=MAX_PREFIXES)] | None = None
    trunk_ids: Annotated[list[Id], Field(max_length=MAX_TRUNKS)] | None = None
    strip: Annotated[int, Field(ge=0, le=MAX_STRIP)] | None = None
    prepend: Annotated[str, Field(pattern=r"^[0-9]{0,20}$")] | None = None
    caller_id: Annotated[str, Field(pattern=r"^(\+?[0-9]{3,20})?$")] | None = None
    enabled: bool | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
