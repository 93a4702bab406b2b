"""ledger seals: a hash chain over committed transactions, append-only

Revision ID: a7c3e51d9b42
Revises: 5b1e7c0d9a42
Create Date: 2026-12-02 02:30:00+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'a7c3e51d9b42'
down_revision = '5b1e7c0d9a42'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('ledger_seals',
    sa.Column('seq', BIG_ID, autoincrement=False, nullable=False),
    sa.Column('transaction_id', BIG_ID, nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_ledger_seals_transaction_id_transactions')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_seals')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_ledger_seals_transaction_id'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # ledger_append_only() is the ledger core's: the same refusal for the same reason.
        op.execute(
            "CREATE TRIGGER ledger_seals_append_only BEFORE UPDATE OR DELETE ON ledger_seals "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_seals_no_truncate BEFORE TRUNCATE ON ledger_seals "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_seals_no_{action.lower()} BEFORE {action} ON ledger_seals "
            f"BEGIN SELECT RAISE(ABORT, 'ledger table ledger_seals is append-only: {action} refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("append_only", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS ledger_seals_{name} ON ledger_seals")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS ledger_seals_no_{action}")
    op.drop_table('ledger_seals')
