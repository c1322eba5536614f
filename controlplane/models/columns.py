"""Column helpers shared by the campaign-side model modules (campaigns, contacts, dial lists)."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def tenant_fk() -> Mapped[int]:
    """The indexed ``tenant_id`` column; rows go with their tenant."""
    return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
