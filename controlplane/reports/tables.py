"""What every report is: named columns of a kind and rows of plain values (pure).

A builder returns a :class:`Table`; the page, the API, the CSV and the XLSX all print the
same one, so they cannot disagree. Rows are dicts of JSON values keyed by column; ``kind``
says how a value is shown (``seconds`` as a duration, ``pct`` with one decimal, ``period``
as the interval's local start) and is also the column type of the XLSX. Dynamic columns
(a break reason, an AMD verdict, an outcome) are keyed ``<family>:<value>`` so labels can
be found for them (``controlplane.reports.http.labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("period", "id", "text", "count", "seconds", "pct", "number")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    kind: str = "count"


@dataclass
class Table:
    report: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


def r1(x: float | None) -> float | None:
    """One decimal, as the wallboard rounds (None stays None)."""
    return None if x is None else round(x, 1)


def mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def dynamic(prefix: str, rows: list[dict[str, Any]], kind: str) -> list[Column]:
    """The columns ``<prefix>:*`` some row has, sorted (their set depends on the data)."""
    keys = sorted({k for r in rows for k in r if k.startswith(prefix + ":")})
    return [Column(k, kind) for k in keys]
