"""Errors of the campaign data layer, under the one root
:class:`controlplane.errors.CentralaError`: each carries the HTTP ``status`` and the
machine-readable ``error_id`` the panel and the API answer with; ``str()`` always says
what was wrong and where."""

from __future__ import annotations

from controlplane.errors import CentralaError


class CampaignError(CentralaError):
    """Base of the campaign package's errors."""

    status = 400
    error_id = "campaign_error"


class InvalidNumber(CampaignError):
    """A phone number that cannot be dialled: ``raw`` as given, ``reason`` in words."""

    error_id = "invalid_number"

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class UnknownRegion(CampaignError):
    """A default region that is not an ISO 3166 region code phonenumbers knows."""

    error_id = "unknown_region"


class NotFound(CampaignError):
    """No such tenant, campaign, contact, record or recontact (in this tenant)."""

    status = 404
    error_id = "not_found"


class Conflict(CampaignError):
    """The change clashes with what is stored (a duplicate name, a number of another
    contact, a recontact that is no longer scheduled)."""

    status = 409
    error_id = "conflict"


class InvalidValue(CampaignError):
    """A field value outside what the table allows (mode, time zone, priority…)."""

    error_id = "invalid_value"


class InvalidField(InvalidValue):
    """A field that cannot be accepted; ``field`` names it."""

    error_id = "bad_parameter"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", details={"field": field, "message": problem})
        self.field = field


class NotYours(CampaignError):
    """The attempt was handled by another agent."""

    status = 403
    error_id = "forbidden"


class FileRejected(CampaignError):
    """The whole file is refused (too big, too many lines, not UTF-8 text)."""

    error_id = "file_rejected"


class HlrNotConfigured(CampaignError):
    """No HLR provider is configured (or its URL is unusable)."""

    status = 503
    error_id = "hlr_not_configured"
