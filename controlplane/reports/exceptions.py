"""The reports domain's errors, under the one root :class:`controlplane.errors.CentralaError`."""

from __future__ import annotations

from controlplane.errors import CentralaError


class ReportError(CentralaError):
    status = 400
    error_id = "report_error"


class ReportTooLong(ReportError):
    """The report reads more than a request may (days or rows): export it as a job."""

    status = 400
    error_id = "report_too_long"
