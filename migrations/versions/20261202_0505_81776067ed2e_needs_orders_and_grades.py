"""needs, orders and grades; the grid worker role

Revision ID: 81776067ed2e
Revises: 5b8d2e6f4a17
Create Date: 2026-12-02 05:05:54.668429+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '81776067ed2e'
down_revision = '5b8d2e6f4a17'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('grades',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_type', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('graded_on', sa.Date(), nullable=False),
    sa.Column('computed_colour', sa.String(length=6), nullable=False),
    sa.Column('colour', sa.String(length=6), nullable=False),
    sa.Column('figures_json', sa.Text(), nullable=False),
    sa.Column('explanation', sa.String(length=500), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('overridden_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('overridden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('override_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("colour IN ('green', 'blue', 'yellow', 'red')", name=op.f('ck_grades_colour')),
    sa.CheckConstraint("computed_colour IN ('green', 'blue', 'yellow', 'red')", name=op.f('ck_grades_computed_colour')),
    sa.CheckConstraint("subject_type IN ('volunteer', 'team')", name=op.f('ck_grades_subject_type')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_grades_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades')),
    sa.UniqueConstraint('subject_type', 'subject_id', 'graded_on', name='uq_grades_subject_day')
    )
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.create_index('ix_grades_organisation_day', ['organisation_id', 'graded_on'], unique=False)

    op.create_table('resources',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('offers', sa.Text(), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_resources_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('grade_follow_ups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grade_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('social_worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['grade_id'], ['grades.id'], name=op.f('fk_grade_follow_ups_grade_id_grades')),
    sa.ForeignKeyConstraint(['social_worker_id'], ['people.id'], name=op.f('fk_grade_follow_ups_social_worker_id_people')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_grade_follow_ups_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_follow_ups'))
    )
    with op.batch_alter_table('grade_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_follow_ups_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('residents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('real_name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('groups', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('consent_version', sa.String(length=20), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('card_key', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_residents_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_residents_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('card_key', name=op.f('uq_residents_card_key')),
    sa.UniqueConstraint('person_id', name=op.f('uq_residents_person_id'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.create_index('ix_residents_organisation_phone', ['organisation_id', 'phone'], unique=False)

    op.create_table('service_projects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_service_projects_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_service_projects_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_projects'))
    )
    with op.batch_alter_table('service_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_projects_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('supervision_indices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('social_worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('indicators_json', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 0 AND 100', name=op.f('ck_supervision_indices_score')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supervision_indices_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['social_worker_id'], ['people.id'], name=op.f('fk_supervision_indices_social_worker_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_indices')),
    sa.UniqueConstraint('social_worker_id', 'month', name='uq_supervision_indices_month')
    )
    op.create_table('supervision_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('social_worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_supervision_sessions_minutes')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_supervision_sessions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['social_worker_id'], ['people.id'], name=op.f('fk_supervision_sessions_social_worker_id_people')),
    sa.ForeignKeyConstraint(['team_id'], ['organisations.id'], name=op.f('fk_supervision_sessions_team_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_sessions'))
    )
    with op.batch_alter_table('supervision_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_sessions_social_worker_id'), ['social_worker_id'], unique=False)

    op.create_table('needs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('wanted_when', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('colour', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('difficulty', sa.Integer(), nullable=True),
    sa.Column('assessment', sa.Text(), nullable=True),
    sa.Column('triaged_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.String(length=200), nullable=True),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("channel IN ('hotline', 'home_visit', 'micro_wish', 'tea_stall', 'grid', 'online')", name=op.f('ck_needs_channel')),
    sa.CheckConstraint("colour IN ('red', 'yellow', 'blue', 'green')", name=op.f('ck_needs_colour')),
    sa.CheckConstraint("status IN ('recorded', 'ordered', 'in_activity', 'referred', 'declined', 'served', 'closed', 'cancelled')", name=op.f('ck_needs_status')),
    sa.CheckConstraint('difficulty IS NULL OR difficulty BETWEEN 1 AND 3', name=op.f('ck_needs_difficulty')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_needs_activity_id_activities')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_needs_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['service_projects.id'], name=op.f('fk_needs_project_id_service_projects')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_needs_recorded_by_people')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_needs_resident_id_residents')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_needs_resource_id_resources')),
    sa.ForeignKeyConstraint(['triaged_by'], ['people.id'], name=op.f('fk_needs_triaged_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index('ix_needs_organisation_status', ['organisation_id', 'status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_needs_resident_id'), ['resident_id'], unique=False)

    op.create_table('supervision_attendees',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['supervision_sessions.id'], name=op.f('fk_supervision_attendees_session_id_supervision_sessions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_supervision_attendees_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_attendees')),
    sa.UniqueConstraint('session_id', 'volunteer_id', name='uq_supervision_attendees_pair')
    )
    with op.batch_alter_table('supervision_attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_attendees_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('skills', sa.String(length=200), nullable=True),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('recurrence', sa.String(length=100), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected_minutes', sa.Integer(), nullable=False),
    sa.Column('open_for_claims', sa.Boolean(), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('payer', sa.String(length=10), nullable=False),
    sa.Column('payer_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payer_organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("payer IN ('none', 'resident', 'family', 'pool')", name=op.f('ck_orders_payer')),
    sa.CheckConstraint("status IN ('dispatching', 'filled', 'serving', 'served', 'completed', 'cancelled')", name=op.f('ck_orders_status')),
    sa.CheckConstraint('expected_minutes > 0', name=op.f('ck_orders_expected_minutes')),
    sa.CheckConstraint('slots BETWEEN 1 AND 50', name=op.f('ck_orders_slots')),
    sa.CheckConstraint('window_end > window_start', name=op.f('ck_orders_window')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_orders_activity_id_activities')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_orders_need_id_needs')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_orders_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['payer_organisation_id'], ['organisations.id'], name=op.f('fk_orders_payer_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['payer_person_id'], ['people.id'], name=op.f('fk_orders_payer_person_id_people')),
    sa.ForeignKeyConstraint(['team_id'], ['organisations.id'], name=op.f('fk_orders_team_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_need_id'), ['need_id'], unique=False)
        batch_op.create_index('ix_orders_organisation_status', ['organisation_id', 'status'], unique=False)

    op.create_table('pool_allocations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('allocated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.CheckConstraint("status IN ('open', 'spent', 'returned')", name=op.f('ck_pool_allocations_status')),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_pool_allocations_minutes')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_pool_allocations_hold_id_holds')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_pool_allocations_need_id_needs')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_pool_allocations_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_allocations')),
    sa.UniqueConstraint('need_id', name='uq_pool_allocations_need')
    )
    op.create_table('order_assignments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('claimed', sa.Boolean(), nullable=False),
    sa.Column('offered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respond_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirm_method', sa.String(length=14), nullable=True),
    sa.Column('confirmed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('hold_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('attendance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("confirm_method IS NULL OR confirm_method IN ('member_code', 'card', 'one_time_code', 'staff')", name=op.f('ck_order_assignments_confirm_method')),
    sa.CheckConstraint("status IN ('offered', 'accepted', 'started', 'ended', 'approved', 'rejected', 'declined', 'timed_out', 'withdrawn', 'no_show')", name=op.f('ck_order_assignments_status')),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_order_assignments_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_order_assignments_hold_id_holds')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_assignments_order_id_orders')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_order_assignments_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_assignments')),
    sa.UniqueConstraint('attendance_id', name=op.f('uq_order_assignments_attendance_id'))
    )
    with op.batch_alter_table('order_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_order_assignments_volunteer', ['volunteer_id', 'status'], unique=False)
        batch_op.create_index('uq_order_assignments_live_slot', ['order_id', 'slot'], unique=True, sqlite_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"), postgresql_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"))
        batch_op.create_index('uq_order_assignments_live_volunteer', ['order_id', 'volunteer_id'], unique=True, sqlite_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"), postgresql_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"))

    op.create_table('need_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['order_assignments.id'], name=op.f('fk_need_events_assignment_id_order_assignments')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_events_need_id_needs')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_need_events_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_events'))
    )
    with op.batch_alter_table('need_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_events_need_id'), ['need_id'], unique=False)

    op.create_table('order_ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('rated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('followed_up_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('follow_up_notes', sa.Text(), nullable=True),
    sa.Column('complaint_upheld', sa.Boolean(), nullable=True),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_order_ratings_stars')),
    sa.ForeignKeyConstraint(['assignment_id'], ['order_assignments.id'], name=op.f('fk_order_ratings_assignment_id_order_assignments')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_order_ratings_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_ratings')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_order_ratings_assignment_id'))
    )
    with op.batch_alter_table('order_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_ratings_volunteer_id'), ['volunteer_id'], unique=False)

    
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_role_grants_role'), type_='check')
        batch_op.create_check_constraint(
            'role', "role IN ('volunteer', 'social_worker', 'coordinator', 'station_staff', 'admin', 'grid_worker')")


def downgrade() -> None:
    # The older constraint knows no grid workers: their grants go first, or the table cannot be rebuilt.
    op.execute("DELETE FROM role_grants WHERE role = 'grid_worker'")
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_role_grants_role'), type_='check')
        batch_op.create_check_constraint(
            'role', "role IN ('volunteer', 'social_worker', 'coordinator', 'station_staff', 'admin')")
    
    with op.batch_alter_table('order_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_ratings_volunteer_id'))

    op.drop_table('order_ratings')
    with op.batch_alter_table('need_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_events_need_id'))

    op.drop_table('need_events')
    with op.batch_alter_table('order_assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_order_assignments_live_volunteer', sqlite_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"), postgresql_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"))
        batch_op.drop_index('uq_order_assignments_live_slot', sqlite_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"), postgresql_where=sa.text("status IN ('offered', 'accepted', 'started', 'ended', 'approved')"))
        batch_op.drop_index('ix_order_assignments_volunteer')

    op.drop_table('order_assignments')
    op.drop_table('pool_allocations')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_organisation_status')
        batch_op.drop_index(batch_op.f('ix_orders_need_id'))

    op.drop_table('orders')
    with op.batch_alter_table('supervision_attendees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_attendees_volunteer_id'))

    op.drop_table('supervision_attendees')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_resident_id'))
        batch_op.drop_index('ix_needs_organisation_status')

    op.drop_table('needs')
    with op.batch_alter_table('supervision_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_sessions_social_worker_id'))

    op.drop_table('supervision_sessions')
    op.drop_table('supervision_indices')
    with op.batch_alter_table('service_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_projects_organisation_id'))

    op.drop_table('service_projects')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index('ix_residents_organisation_phone')

    op.drop_table('residents')
    with op.batch_alter_table('grade_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_follow_ups_volunteer_id'))

    op.drop_table('grade_follow_ups')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_organisation_id'))

    op.drop_table('resources')
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.drop_index('ix_grades_organisation_day')

    op.drop_table('grades')
    
