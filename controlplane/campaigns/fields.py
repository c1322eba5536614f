"""The values a campaign or a contact may take, checked without the database: names,
time zones, priorities, and the fields set on a contact. Pure: the store, the CSV reader
and the panel validate with the same rules."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field

from controlplane.campaigns.exceptions import InvalidValue

NAME_MAX = 100
PRIORITY_RANGE = range(0, 101)  # higher dials sooner


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone ("Europe/Warsaw"); :class:`InvalidValue` if not."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidValue(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Warsaw)"
        ) from err
    return name


def check_priority(value: int) -> int:
    """``value`` if it is a valid record priority (0-100); :class:`InvalidValue` if not."""
    if value not in PRIORITY_RANGE:
        raise InvalidValue(f"priority {value} is outside 0-100")
    return value


@dataclass(frozen=True, slots=True)
class ContactFields:
    """Values to set on a contact; None leaves a stored value as it is, and ``custom``
    is merged into the stored custom fields."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    timezone: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)
