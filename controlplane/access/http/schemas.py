"""Request schemas of the access pages and API (shared by both, and by the API description).

* :class:`AccessPolicyBody` — ``PUT /api/v1/ip-allow-list``: the networks (CIDR, IPv4 or
  IPv6; a bare address is one host) and optionally the one-workstation rule.
* :class:`AccessPolicyForm` — the page's form: networks one per line.
* :class:`AuditQuery` — filters and paging of ``/security/audit`` and
  ``/api/v1/audit-events`` (and the CSV export).
* :class:`TotpCode` — a code typed to confirm enrolment.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from controlplane.security import ip_allow_list
from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Form, Query

MAX_NETWORK_LEN = 60
MAX_PAGE = 100_000
PAGE_SIZES = (25, 50, 100, 200)


def _networks(values: list[str]) -> list[str]:
    try:
        return ip_allow_list.normalise(values)
    except ip_allow_list.BadEntry as err:
        raise ValueError(str(err)) from None


Networks = Annotated[list[Annotated[str, Field(max_length=MAX_NETWORK_LEN), ONE_LINE]],
                     Field(max_length=ip_allow_list.MAX_ENTRIES), AfterValidator(_networks)]


class AccessPolicyBody(Body):
    networks: Networks
    one_workstation: bool | None = None


class AccessPolicyForm(Form):
    networks: Annotated[str, Field(max_length=ip_allow_list.MAX_ENTRIES * (MAX_NETWORK_LEN + 2)),
                        MULTI_LINE] = ""
    one_workstation: Literal["on", ""] = ""

    def network_list(self) -> list[str]:
        return _networks(self.networks.splitlines())


def _page_size(n: int) -> int:
    if n not in PAGE_SIZES:
        raise ValueError(f"must be one of {', '.join(map(str, PAGE_SIZES))}")
    return n


class AuditQuery(Query):
    actor: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    action: Annotated[str, Field(max_length=40), ONE_LINE] | None = None
    since: date | None = None  # a day in the tenant's time zone, inclusive
    until: date | None = None  # inclusive
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: Annotated[int, AfterValidator(_page_size)] = 50


class TotpCode(Form):
    code: Annotated[str, Field(min_length=1, max_length=20), ONE_LINE]
