"""certification: star levels, programmes, certificates, continuing education, batches

Revision ID: 810309ca998b
Revises: 3fc179b2477a
Create Date: 2026-11-27 12:35:14.859746+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '810309ca998b'
down_revision = '3fc179b2477a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progressed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_certificate_batches_status')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_certificate_batches_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_batches'))
    )
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_batches_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('certification_programmes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('required_minutes_json', sa.Text(), nullable=False),
    sa.Column('required_training_minutes', sa.Integer(), nullable=False),
    sa.Column('required_activities', sa.Integer(), nullable=False),
    sa.Column('signoff_level', sa.String(length=20), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('required_activities >= 0', name=op.f('ck_certification_programmes_activities')),
    sa.CheckConstraint('required_training_minutes >= 0', name=op.f('ck_certification_programmes_training')),
    sa.CheckConstraint('validity_months > 0', name=op.f('ck_certification_programmes_validity')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_certification_programmes_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_programmes'))
    )
    with op.batch_alter_table('certification_programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certification_programmes_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('verify_key', sa.String(length=32), nullable=False),
    sa.Column('check_code', sa.String(length=8), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('programme_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('issued_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signed_off_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('certified_minutes', sa.Integer(), nullable=False),
    sa.Column('training_minutes', sa.Integer(), nullable=False),
    sa.Column('activities', sa.Integer(), nullable=False),
    sa.Column('basis_json', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("kind <> 'programme' OR programme_id IS NOT NULL", name=op.f('ck_certificates_programme')),
    sa.CheckConstraint("kind IN ('programme', 'service_record')", name=op.f('ck_certificates_kind')),
    sa.CheckConstraint('revoked_at IS NULL OR revoke_reason IS NOT NULL', name=op.f('ck_certificates_revoke_reason')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_certificates_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_certificates_person_id_people')),
    sa.ForeignKeyConstraint(['programme_id'], ['certification_programmes.id'], name=op.f('fk_certificates_programme_id_certification_programmes')),
    sa.ForeignKeyConstraint(['signed_off_by'], ['people.id'], name=op.f('fk_certificates_signed_off_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('verify_key', name=op.f('uq_certificates_verify_key')),
    sa.UniqueConstraint('year', 'sequence', name='uq_certificates_serial')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_person', ['person_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_programme_id'), ['programme_id'], unique=False)

    op.create_table('continuing_education',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('organiser', sa.String(length=100), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_continuing_education_minutes')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_continuing_education_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_continuing_education'))
    )
    with op.batch_alter_table('continuing_education', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_continuing_education_person_id'), ['person_id'], unique=False)

    op.create_table('star_level_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('level BETWEEN 1 AND 9', name=op.f('ck_star_level_events_level')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_star_level_events_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_star_level_events'))
    )
    with op.batch_alter_table('star_level_events', schema=None) as batch_op:
        batch_op.create_index('ix_star_level_events_person_level', ['person_id', 'level'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('star_level_events', schema=None) as batch_op:
        batch_op.drop_index('ix_star_level_events_person_level')

    op.drop_table('star_level_events')
    with op.batch_alter_table('continuing_education', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_continuing_education_person_id'))

    op.drop_table('continuing_education')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_programme_id'))
        batch_op.drop_index('ix_certificates_person')

    op.drop_table('certificates')
    with op.batch_alter_table('certification_programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_programmes_organisation_id'))

    op.drop_table('certification_programmes')
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_batches_organisation_id'))

    op.drop_table('certificate_batches')
