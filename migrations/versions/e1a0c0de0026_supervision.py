"""supervision: one row per listen/whisper/barge session

Revision ID: e1a0c0de0026
Revises: e1a0c0de0025
Create Date: 2026-12-04 07:20:00

The audit trail of supervision (see :mod:`controlplane.models.supervision`). A new table
only; nothing moves.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0026"
down_revision = "e1a0c0de0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.String(length=128), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('modes', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('started_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=False),
    sa.CheckConstraint("mode IN ('listen', 'whisper', 'barge')", name=op.f('ck_supervision_session_mode')),
    sa.CheckConstraint("state IN ('dialing', 'active', 'ended')", name=op.f('ck_supervision_session_state')),
    sa.ForeignKeyConstraint(['agent_id'], ['user_account.id'], name=op.f('fk_supervision_session_agent_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['user_account.id'], name=op.f('fk_supervision_session_supervisor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_supervision_session_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_session'))
    )
    with op.batch_alter_table('supervision_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_session_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_session_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_session_supervisor_id'), ['supervisor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_session_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('supervision_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_session_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_session_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_session_state'))
        batch_op.drop_index(batch_op.f('ix_supervision_session_call_id'))
    op.drop_table('supervision_session')
