"""people imports in the background

Revision ID: 5b8d2e6f4a17
Revises: 3e5f7a9c1b24
Create Date: 2026-12-02 04:00:00+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '5b8d2e6f4a17'
down_revision = '3e5f7a9c1b24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('people_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('report_json', sa.Text(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')", name=op.f('ck_people_imports_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people_imports'))
    )
    with op.batch_alter_table('people_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_imports_requested_by'), ['requested_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('people_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_imports_requested_by'))
    op.drop_table('people_imports')
