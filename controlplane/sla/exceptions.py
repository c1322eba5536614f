"""The SLA domain's errors, under the one root :class:`controlplane.errors.CentralaError`."""

from __future__ import annotations

from controlplane.errors import CentralaError


class SlaError(CentralaError):
    """Base of the SLA domain's errors."""

    status = 400
    error_id = "sla_error"


class SlaNotConfigured(SlaError):
    """The tenant has no SLA settings (level, monthly fee) yet."""

    status = 404
    error_id = "sla_not_configured"
