"""Migration e1a0c0de0018 (a DID may route to a queue: ``did.queue_id``) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _did_columns_and_fks(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        insp = inspect(engine)
        return ({c["name"] for c in insp.get_columns("did")},
                {fk["referred_table"] for fk in insp.get_foreign_keys("did")})
    finally:
        engine.dispose()


def test_did_queue_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0018")
    columns, referred = _did_columns_and_fks(db_url)
    assert "queue_id" in columns and "acd_queue" in referred
    command.downgrade(alembic_config(db_url), "e1a0c0de0014")
    columns, referred = _did_columns_and_fks(db_url)
    assert "queue_id" not in columns and "acd_queue" not in referred
    assert {"flow_id", "phone_endpoint_id"} <= columns  # the rest of the table kept
    upgrade(db_url, "e1a0c0de0018")
    assert "queue_id" in _did_columns_and_fks(db_url)[0]
