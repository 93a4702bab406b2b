"""The double-entry ledger: accounts, transactions, postings, holds.

Transactions and postings are append-only (triggers on both databases); on
PostgreSQL, deferred constraint triggers also refuse, at commit, any
transaction that has fewer than two postings or does not balance per commodity.

Revision ID: 2e39f6861792
Revises: 
Create Date: 2026-11-22 04:13:32.453882+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '2e39f6861792'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('commodity', sa.String(length=8), nullable=False),
    sa.Column('owner_type', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('held', sa.BigInteger(), nullable=False),
    sa.Column('allow_negative', sa.Boolean(), nullable=False),
    sa.Column('max_balance', sa.BigInteger(), nullable=True),
    sa.Column('running_balance', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("NOT allow_negative OR owner_type = 'system'", name=op.f('ck_accounts_only_system_negative')),
    sa.CheckConstraint("commodity IN ('HOUR', 'CERT', 'PTS')", name=op.f('ck_accounts_commodity')),
    sa.CheckConstraint('allow_negative OR balance - held >= 0', name=op.f('ck_accounts_non_negative')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_accounts_held_non_negative')),
    sa.CheckConstraint('max_balance IS NULL OR balance <= max_balance', name=op.f('ck_accounts_under_cap')),
    sa.CheckConstraint('running_balance OR (allow_negative AND balance = 0 AND held = 0 AND max_balance IS NULL)', name=op.f('ck_accounts_derived_balance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_accounts_code')),
    sa.UniqueConstraint('id', 'commodity', name='uq_accounts_id_commodity')
    )
    op.create_table('transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('ref_type', sa.String(length=32), nullable=True),
    sa.Column('ref_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=False),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['reverses_id'], ['transactions.id'], name=op.f('fk_transactions_reverses_id_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_transactions_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_transactions_reverses_id'))
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_ref', ['ref_type', 'ref_id'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('ref_type', sa.String(length=32), nullable=True),
    sa.Column('ref_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.BigInteger(), nullable=True),
    sa.Column('captured_amount', sa.BigInteger(), nullable=True),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('open', 'captured', 'released', 'expired')", name=op.f('ck_holds_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_holds_positive')),
    sa.CheckConstraint('captured_amount IS NULL OR (captured_amount > 0 AND captured_amount <= amount)', name=op.f('ck_holds_captured_within_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_holds_account_id_accounts')),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_holds_transaction_id_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_holds_idempotency_key'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_holds_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('commodity', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_postings_non_zero')),
    sa.ForeignKeyConstraint(['account_id', 'commodity'], ['accounts.id', 'accounts.commodity'], name='fk_postings_account_commodity'),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_postings_transaction_id_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_transaction_id'), ['transaction_id'], unique=False)

    create_triggers()


def downgrade() -> None:
    drop_triggers()
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_transaction_id'))
        batch_op.drop_index('ix_postings_account_id_id')

    op.drop_table('postings')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_status_expires_at')
        batch_op.drop_index(batch_op.f('ix_holds_account_id'))

    op.drop_table('holds')
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_ref')

    op.drop_table('transactions')
    op.drop_table('accounts')
    op.drop_table('meta')


APPEND_ONLY = ("transactions", "postings")

PG_FUNCTIONS = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  txn bigint;
  off record;
BEGIN
  IF TG_TABLE_NAME = 'postings' THEN
    txn := NEW.transaction_id;
  ELSE
    txn := NEW.id;
  END IF;
  IF (SELECT count(*) FROM postings WHERE transaction_id = txn) < 2 THEN
    RAISE EXCEPTION 'transaction % has fewer than two postings', txn
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  SELECT commodity, sum(amount) AS total INTO off FROM postings
    WHERE transaction_id = txn GROUP BY commodity HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'transaction % does not balance in %: off by %', txn, off.commodity, off.total
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def create_triggers() -> None:
    """Append-only ledger tables; on PostgreSQL also balance checked at commit."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_balanced AFTER INSERT ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {action} refused'); END"
            )


def drop_triggers() -> None:
    """Undo create_triggers."""
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            for name in ("append_only", "no_truncate", "balanced"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
        op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
