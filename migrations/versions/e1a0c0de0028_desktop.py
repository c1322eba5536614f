"""Agent desktop: the tenant's call dispositions, agents' wrap-ups, screen-pop settings

Revision ID: e1a0c0de0028
Revises: e1a0c0de0027
Create Date: 2026-12-04 08:00:00

``call_disposition`` (a tenant's dispositions for any call), ``call_wrapup`` (one call's
disposition, note and scheduled recontact, by the agent) and ``desktop_settings``
(the tenant's screen-pop URL template and mode).
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0028"
down_revision = "e1a0c0de0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_disposition",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("tenant_id", "code"),
    )
    op.create_index("ix_call_disposition_tenant_id", "call_disposition", ["tenant_id"])
    op.create_table(
        "call_wrapup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("disposition_code", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("recontact_id", sa.Integer(),
                  sa.ForeignKey("recontact.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_call_wrapup_tenant_id", "call_wrapup", ["tenant_id"])
    op.create_table(
        "desktop_settings",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("screen_pop_url", sa.String(length=1000), nullable=True),
        sa.Column("screen_pop_mode", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("screen_pop_mode IN ('tab', 'iframe')",
                           name=op.f("ck_desktop_settings_screen_pop_mode")),
    )


def downgrade() -> None:
    op.drop_table("desktop_settings")
    op.drop_index("ix_call_wrapup_tenant_id", table_name="call_wrapup")
    op.drop_table("call_wrapup")
    op.drop_index("ix_call_disposition_tenant_id", table_name="call_disposition")
    op.drop_table("call_disposition")
