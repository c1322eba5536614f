"""outbound policy (toll-fraud guard), refused calls and attempts

Revision ID: e1a0c0de0004
Revises: e1a0c0de0001
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0004"
down_revision = "e1a0c0de0001"
branch_labels = None
depends_on = None

_OUTCOMES = ("human", "machine", "no_answer", "busy", "failed", "unallocated", "abandoned",
             "skipped")


def _outcome_check(outcomes: tuple[str, ...]) -> str:
    return "outcome IS NULL OR outcome IN (" + ", ".join(repr(o) for o in outcomes) + ")"


def upgrade() -> None:
    op.create_table(
        "outbound_policy",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("allowed", sa.JSON(), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("max_per_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("max_concurrent >= 0 AND max_per_hour >= 0",
                           name=op.f("ck_outbound_policy_caps")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_outbound_policy_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_outbound_policy")),
    )
    op.add_column("call_record", sa.Column("refused_reason", sa.String(length=200),
                                           nullable=True))
    # SQLite cannot alter a CHECK constraint: batch mode copies the table.
    with op.batch_alter_table("dial_attempt") as batch:
        batch.drop_constraint(op.f("ck_dial_attempt_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_dial_attempt_outcome"),
                                      _outcome_check((*_OUTCOMES, "refused")))


def downgrade() -> None:
    op.execute("UPDATE dial_attempt SET outcome = 'failed' WHERE outcome = 'refused'")
    with op.batch_alter_table("dial_attempt") as batch:
        batch.drop_constraint(op.f("ck_dial_attempt_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_dial_attempt_outcome"), _outcome_check(_OUTCOMES))
    with op.batch_alter_table("call_record") as batch:
        batch.drop_column("refused_reason")
    op.drop_table("outbound_policy")
