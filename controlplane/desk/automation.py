"""Business rules run against tickets (the SQL side of :mod:`controlplane.desk.rules`).

Placeholder until the rules engine lands: no rule runs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from controlplane.models.tickets import Ticket


def on_event(s: Session, ticket: Ticket, trigger: str, *, depth: int = 0,
             changed: set[str] | None = None) -> int:
    """Run the tenant's active rules of ``trigger`` on ``ticket``; how many acted."""
    return 0
