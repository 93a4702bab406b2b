"""the workbench's grade tallies: volunteers' current grades counted per organisation and colour

Revision ID: e3a7c5b9d1f4
Revises: b6e1d4f7a2c8
Create Date: 2026-12-02 11:30:00+00:00
"""

import sqlalchemy as sa
from alembic import op


revision = 'e3a7c5b9d1f4'
down_revision = 'b6e1d4f7a2c8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'grade_tallies',
        sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('colour', sa.String(length=6), nullable=False),
        sa.Column('volunteers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_grade_tallies_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('organisation_id', 'colour', name=op.f('pk_grade_tallies')),
    )
    # The backfill: the same counts the grading and the overrides keep from now on (grading/tallies.py).
    op.execute(
        "INSERT INTO grade_tallies (organisation_id, colour, volunteers) "
        "SELECT organisation_id, colour, COUNT(*) FROM grades WHERE subject_type = 'volunteer' AND is_current "
        "GROUP BY organisation_id, colour"
    )


def downgrade() -> None:
    op.drop_table('grade_tallies')
