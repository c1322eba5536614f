"""outbound routes: which trunk a dialled number leaves by

Revision ID: e1a0c0de0021
Revises: e1a0c0de0018
Create Date: 2026-12-04 04:10:00

``outbound_route`` (prefixes, strip/prepend, caller ID, order) and its ordered trunks
``outbound_route_trunk`` (see :mod:`controlplane.models.outbound_routes`). No data moves:
a tenant without routes keeps leaving by its first trunk.
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0021"
down_revision = "e1a0c0de0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prefixes", sa.JSON(), nullable=False),
        sa.Column("strip", sa.Integer(), nullable=False),
        sa.Column("prepend", sa.String(length=20), nullable=False),
        sa.Column("caller_id", sa.String(length=20), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_route_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_route")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_outbound_route_tenant_id")),
    )
    op.create_index(op.f("ix_outbound_route_tenant_id"), "outbound_route", ["tenant_id"],
                    unique=False)
    op.create_table(
        "outbound_route_trunk",
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["route_id"], ["outbound_route.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_route_trunk_route_id_outbound_route")),
        sa.ForeignKeyConstraint(["trunk_id"], ["trunk.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_route_trunk_trunk_id_trunk")),
        sa.PrimaryKeyConstraint("route_id", "position", name=op.f("pk_outbound_route_trunk")),
    )
    op.create_index(op.f("ix_outbound_route_trunk_trunk_id"), "outbound_route_trunk",
                    ["trunk_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbound_route_trunk_trunk_id"), table_name="outbound_route_trunk")
    op.drop_table("outbound_route_trunk")
    op.drop_index(op.f("ix_outbound_route_tenant_id"), table_name="outbound_route")
    op.drop_table("outbound_route")
