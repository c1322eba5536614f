"""What a report is asked for: its name, the local date range, the interval and the
subjects it is narrowed to (pure; parsed from the query by ``http/schemas.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from controlplane.reports.periods import Interval

REPORTS = ("agent_time", "calls_by_queue", "calls_by_agent", "abandons", "dispositions",
           "campaigns", "hlr")

MAX_DAYS_INLINE = 31  # a longer range is built by a job (the page offers the export)
MAX_DAYS = 366 * 2
MAX_ROWS_INLINE = 50_000  # log rows read during one request


@dataclass(frozen=True, slots=True)
class Filters:
    first: date
    last: date
    interval: Interval = Interval.DAY
    queues: tuple[int, ...] = ()  # none: every queue
    agents: tuple[int, ...] = ()  # none: every agent
    campaign: int | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def as_params(self) -> dict[str, str]:
        """The query string that asks for these filters again (an export job, a link)."""
        out = {"from": self.first.isoformat(), "to": self.last.isoformat(),
               "interval": self.interval.value}
        if self.queues:
            out["queues"] = ",".join(map(str, self.queues))
        if self.agents:
            out["agents"] = ",".join(map(str, self.agents))
        if self.campaign is not None:
            out["campaign"] = str(self.campaign)
        return out
