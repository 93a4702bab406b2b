"""the workbench's roll-up: approved service per organisation, day and category; each volunteer's last service; current grades

Revision ID: b6e1d4f7a2c8
Revises: 9d3c6b1e2f58
Create Date: 2026-12-02 10:30:00+00:00
"""

import sqlalchemy as sa
from alembic import op


revision = 'b6e1d4f7a2c8'
down_revision = '9d3c6b1e2f58'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_days',
        sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('attendances', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_service_days_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('organisation_id', 'day', 'category', name=op.f('pk_service_days')),
    )
    op.add_column('people', sa.Column('last_served_at', sa.DateTime(timezone=True), nullable=True))
    # The backfill: the same sums the approvals and corrections keep from now on (events/rollup.py).
    day = "date(v.starts_at, '+8 hours')" if op.get_context().dialect.name == 'sqlite' else "date(v.starts_at AT TIME ZONE 'Asia/Shanghai')"
    op.execute(
        "INSERT INTO service_days (organisation_id, day, category, minutes, attendances) "
        f"SELECT v.organisation_id, {day}, v.category, COALESCE(SUM(a.credited_minutes), 0), COUNT(*) "
        "FROM attendances a JOIN activities v ON v.id = a.activity_id WHERE a.status = 'approved' "
        f"GROUP BY v.organisation_id, {day}, v.category"
    )
    op.execute(
        "UPDATE people SET last_served_at = (SELECT MAX(a.checked_in_at) FROM attendances a "
        "WHERE a.volunteer_id = people.id AND a.status = 'approved')"
    )
    op.create_index('ix_people_home_last_served', 'people', ['home_organisation_id', 'last_served_at'], unique=False)
    # Registered and new volunteers of a subtree, read from the index alone.
    op.create_index('ix_people_home_status_approved', 'people', ['home_organisation_id', 'status', 'approved_at'], unique=False)
    # Each subject's newest grade is the one that stands; the grading moves the flag from then on.
    op.add_column('grades', sa.Column('is_current', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE grades SET is_current = NOT EXISTS (SELECT 1 FROM grades later WHERE later.subject_type = grades.subject_type "
        "AND later.subject_id = grades.subject_id AND later.graded_on > grades.graded_on)"
    )
    op.create_index('ix_grades_current', 'grades', ['subject_type', 'colour', 'organisation_id', 'subject_id'], unique=False,
                    postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current = 1'))


def downgrade() -> None:
    op.drop_index('ix_grades_current', table_name='grades')
    op.drop_index('ix_people_home_status_approved', table_name='people')
    op.drop_index('ix_people_home_last_served', table_name='people')
    # Dropped in place (SQLite 3.35 and PostgreSQL alike): rebuilding `grades` or `people`, as batch mode
    # does on SQLite, would drop a table other tables' foreign keys point at.
    op.execute('ALTER TABLE grades DROP COLUMN is_current')
    op.execute('ALTER TABLE people DROP COLUMN last_served_at')
    op.drop_table('service_days')
