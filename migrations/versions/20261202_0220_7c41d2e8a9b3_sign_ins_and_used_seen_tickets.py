"""sign-ins kept on the server; seen tickets used once

Revision ID: 7c41d2e8a9b3
Revises: 581b1004c020
Create Date: 2026-12-02 02:20:00+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '7c41d2e8a9b3'
down_revision = '581b1004c020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_ins',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sign_ins_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_ins')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_sign_ins_key_hash'))
    )
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_ins_person_id'), ['person_id'], unique=False)

    op.create_table('used_seen_tickets',
    sa.Column('ticket_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ticket_hash', name=op.f('pk_used_seen_tickets'))
    )
    with op.batch_alter_table('used_seen_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_seen_tickets_used_at'), ['used_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('used_seen_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_seen_tickets_used_at'))
    op.drop_table('used_seen_tickets')
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_ins_person_id'))
    op.drop_table('sign_ins')
