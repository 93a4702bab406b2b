"""volunteer_categories: who offers which service category under each organisation, most recently active first

Revision ID: 9d3c6b1e2f58
Revises: c4d2a8e7f913
Create Date: 2026-12-02 10:30:00+00:00
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '9d3c6b1e2f58'
down_revision = 'c4d2a8e7f913'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# One row per person, category (or "*": every person) and organisation from their home one up to the root.
BACKFILL = """
INSERT INTO volunteer_categories (person_id, category, organisation_id, active_at)
SELECT p.id, CAST(:category AS VARCHAR(40)), above.id, COALESCE(p.last_sign_in_at, :never)
FROM people p
JOIN organisations home ON home.id = p.home_organisation_id
JOIN organisations above ON home.path LIKE above.path || '%'
WHERE ',' || COALESCE(p.service_categories, '') || ',' LIKE :offering
"""


def upgrade() -> None:
    op.create_table('volunteer_categories',
    sa.Column('person_id', BIG_ID, nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', BIG_ID, nullable=False),
    sa.Column('active_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_volunteer_categories_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_volunteer_categories_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', 'category', 'organisation_id', name=op.f('pk_volunteer_categories'))
    )
    op.create_index('ix_volunteer_categories_walk', 'volunteer_categories', ['category', 'organisation_id', sa.text('active_at DESC'), 'person_id'], unique=False)
    bind = op.get_bind()
    never = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    if bind.dialect.name == 'sqlite':
        never = never.replace(tzinfo=None)
    offered = {c for (value,) in bind.execute(sa.text("SELECT DISTINCT service_categories FROM people")) for c in (value or "").split(",") if c}
    insert = sa.text(BACKFILL).bindparams(sa.bindparam('never', type_=sa.DateTime(timezone=True)))
    for category in ['*', *sorted(offered)]:
        bind.execute(insert, {'category': category, 'never': never, 'offering': '%' if category == '*' else f'%,{category},%'})


def downgrade() -> None:
    op.drop_index('ix_volunteer_categories_walk', table_name='volunteer_categories')
    op.drop_table('volunteer_categories')
