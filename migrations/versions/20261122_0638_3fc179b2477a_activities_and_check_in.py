"""activities and check-in

Revision ID: 3fc179b2477a
Revises: 38600581f092
Create Date: 2026-11-22 06:38:24.896177+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '3fc179b2477a'
down_revision = '38600581f092'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('person_in_charge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('credit_mode', sa.String(length=10), nullable=False),
    sa.Column('fixed_minutes', sa.Integer(), nullable=True),
    sa.Column('points_per_hour', sa.Integer(), nullable=True),
    sa.Column('points_multiplier', sa.Float(), nullable=True),
    sa.Column('signup_required', sa.Boolean(), nullable=False),
    sa.Column('poster_allowed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('code_key', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("credit_mode <> 'fixed' OR fixed_minutes > 0", name=op.f('ck_activities_fixed_minutes')),
    sa.CheckConstraint("credit_mode IN ('actual', 'fixed')", name=op.f('ck_activities_credit_mode')),
    sa.CheckConstraint("status IN ('draft', 'published', 'settled', 'cancelled')", name=op.f('ck_activities_status')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_activities_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_activities_window')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_activities_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_in_charge_id'], ['people.id'], name=op.f('fk_activities_person_in_charge_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('code_key', name=op.f('uq_activities_code_key'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_organisation_starts', ['organisation_id', 'starts_at'], unique=False)

    op.create_table('attendances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_in_method', sa.String(length=10), nullable=False),
    sa.Column('check_out_method', sa.String(length=10), nullable=True),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('adjusted_minutes', sa.Integer(), nullable=True),
    sa.Column('adjust_reason', sa.String(length=200), nullable=True),
    sa.Column('credited_minutes', sa.Integer(), nullable=True),
    sa.Column('credited_points', sa.Integer(), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('credit_version', sa.Integer(), nullable=False),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("status IN ('checked_in', 'checked_out', 'approved', 'rejected')", name=op.f('ck_attendances_status')),
    sa.CheckConstraint('adjusted_minutes IS NULL OR adjusted_minutes >= 0', name=op.f('ck_attendances_adjusted_minutes')),
    sa.CheckConstraint('checked_out_at IS NULL OR checked_out_at >= checked_in_at', name=op.f('ck_attendances_out_after_in')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_attendances_activity_id_activities')),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_attendances_transaction_id_transactions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_attendances_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('activity_id', 'volunteer_id', name='uq_attendances_activity_volunteer')
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index('ix_attendances_volunteer', ['volunteer_id', 'checked_in_at'], unique=False)

    op.create_table('signups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('signed_up', 'waiting', 'cancelled')", name=op.f('ck_signups_status')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_signups_activity_id_activities')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_signups_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signups')),
    sa.UniqueConstraint('activity_id', 'volunteer_id', name='uq_signups_activity_volunteer')
    )
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signups_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('attendance_reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attendance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reviewer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_attendance_reviews_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['people.id'], name=op.f('fk_attendance_reviews_reviewer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_reviews')),
    sa.UniqueConstraint('attendance_id', 'reviewer_id', name='uq_attendance_reviews_reviewer')
    )
    op.create_table('correction_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attendance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('claimed_minutes', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.String(length=500), nullable=True),
    sa.Column('answered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'accepted', 'declined')", name=op.f('ck_correction_requests_status')),
    sa.CheckConstraint('claimed_minutes IS NULL OR claimed_minutes >= 0', name=op.f('ck_correction_requests_claimed_minutes')),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_correction_requests_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_correction_requests_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_requests'))
    )
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_requests_attendance_id'), ['attendance_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_requests_attendance_id'))

    op.drop_table('correction_requests')
    op.drop_table('attendance_reviews')
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signups_volunteer_id'))

    op.drop_table('signups')
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index('ix_attendances_volunteer')

    op.drop_table('attendances')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_organisation_starts')

    op.drop_table('activities')
