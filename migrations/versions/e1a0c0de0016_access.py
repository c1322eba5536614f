"""tenant access policy (IP allow-list, one workstation), TOTP, session workstation

Revision ID: e1a0c0de0016
Revises: e1a0c0de0013
Create Date: 2026-12-04 10:00:00

``tenant_access``: a tenant's IP allow-list and the one-workstation rule; ``user_totp``: a
user's second factor; ``panel_session.workstation``: the browser a session was opened in.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0016"
down_revision = "e1a0c0de0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_access",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ip_allow_list", sa.JSON(), nullable=False),
        sa.Column("one_workstation", sa.Boolean(), nullable=False,
                  server_default=sa.true()),
        sa.Column("updated_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_tenant_access_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_access")),
    )
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.Column("last_counter", sa.Integer(), nullable=False),
        sa.Column("recovery_hashes", sa.JSON(), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_user_totp_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totp")),
    )
    with op.batch_alter_table("panel_session") as batch:
        batch.add_column(sa.Column("workstation", sa.String(64), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("panel_session") as batch:
        batch.drop_column("workstation")
    op.drop_table("user_totp")
    op.drop_table("tenant_access")
