"""The ACD's user-facing errors, under the one error root (:mod:`controlplane.errors`).

The panel and the API render them like every other :class:`~controlplane.errors.CentralaError`;
the call service catches ``UnknownQueue`` / ``UnknownTenant`` when a flow names a queue that
is gone (the caller hears the fallback instead).
"""

from __future__ import annotations

from controlplane.errors import CentralaError


class AcdError(CentralaError):
    """Base error of the ACD."""

    status = 400
    error_id = "acd_error"


class UnknownTenant(AcdError):
    """No tenant with that id (deleted while its calls or agents were live)."""

    status = 404
    error_id = "tenant_not_found"


class UnknownQueue(AcdError):
    """The tenant has no queue of that name (a flow or a DID names a deleted queue)."""

    status = 404
    error_id = "queue_not_found"
