"""people: consent to the personal information notice, its version and time

Revision ID: 5b1f0c2a9d47
Revises: d875da4ae672
Create Date: 2026-12-02 03:00:00+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '5b1f0c2a9d47'
down_revision = 'd875da4ae672'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `people` would break the foreign keys pointing at it.
    for column in ('consent_recorded_by', 'consent_at', 'consent_version'):
        op.execute(f'ALTER TABLE people DROP COLUMN {column}')
