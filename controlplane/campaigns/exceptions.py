"""Errors of the campaign data layer; ``str()`` always says what was wrong and where."""

from __future__ import annotations


class CampaignError(Exception):
    """Base of the campaign package's errors."""


class InvalidNumber(CampaignError):
    """A phone number that cannot be dialled: ``raw`` as given, ``reason`` in words."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class UnknownRegion(CampaignError):
    """A default region that is not an ISO 3166 region code phonenumbers knows."""


class NotFound(CampaignError):
    """No such tenant, campaign, contact, record or recontact (in this tenant)."""


class Conflict(CampaignError):
    """The change clashes with what is stored (a duplicate name, a number of another
    contact, a recontact that is no longer scheduled)."""


class InvalidValue(CampaignError):
    """A field value outside what the table allows (mode, time zone, priority…)."""
