"""Migration e1a0c0de0021 (outbound routes and their ordered trunks) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

TABLES = {"outbound_route", "outbound_route_trunk"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _route_trunk_fks(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {fk["referred_table"]
                for fk in inspect(engine).get_foreign_keys("outbound_route_trunk")}
    finally:
        engine.dispose()


def test_outbound_routes_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0021")
    assert _tables(db_url) >= TABLES
    assert _route_trunk_fks(db_url) == {"outbound_route", "trunk"}
    command.downgrade(alembic_config(db_url), "e1a0c0de0019")
    tables = _tables(db_url)
    assert not TABLES & tables
    assert {"trunk", "did", "tenant"} <= tables  # nothing else dropped
    upgrade(db_url, "e1a0c0de0021")
    assert _tables(db_url) >= TABLES
