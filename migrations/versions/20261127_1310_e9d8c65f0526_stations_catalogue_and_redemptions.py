"""stations: opening hours, catalogue, stock and redemptions

Revision ID: e9d8c65f0526
Revises: 810309ca998b
Create Date: 2026-11-27 12:34:33.608794+00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'e9d8c65f0526'
down_revision = '810309ca998b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('commodity', sa.String(length=4), nullable=False),
    sa.Column('price', sa.Integer(), nullable=False),
    sa.Column('tracks_stock', sa.Boolean(), nullable=False),
    sa.Column('limit_per_day', sa.Integer(), nullable=True),
    sa.Column('limit_per_month', sa.Integer(), nullable=True),
    sa.Column('active_from', sa.Date(), nullable=True),
    sa.Column('active_to', sa.Date(), nullable=True),
    sa.Column('picture', sa.LargeBinary(), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("commodity IN ('PTS', 'HOUR')", name=op.f('ck_catalogue_items_commodity')),
    sa.CheckConstraint("kind IN ('goods', 'voucher', 'service')", name=op.f('ck_catalogue_items_kind')),
    sa.CheckConstraint('limit_per_day IS NULL OR limit_per_day > 0', name=op.f('ck_catalogue_items_day_limit')),
    sa.CheckConstraint('limit_per_month IS NULL OR limit_per_month > 0', name=op.f('ck_catalogue_items_month_limit')),
    sa.CheckConstraint('price > 0', name=op.f('ck_catalogue_items_positive_price')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_catalogue_items_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_catalogue_items_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_items'))
    )
    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_items_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_items_station_id'), ['station_id'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('volunteer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clerk_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.Column('void_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('completed', 'voided')", name=op.f('ck_redemptions_status')),
    sa.ForeignKeyConstraint(['clerk_id'], ['people.id'], name=op.f('fk_redemptions_clerk_id_people')),
    sa.ForeignKeyConstraint(['device_id'], ['device_tokens.id'], name=op.f('fk_redemptions_device_id_device_tokens')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_redemptions_station_id_stations')),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_redemptions_transaction_id_transactions')),
    sa.ForeignKeyConstraint(['void_transaction_id'], ['transactions.id'], name=op.f('fk_redemptions_void_transaction_id_transactions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['people.id'], name=op.f('fk_redemptions_volunteer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_redemptions_idempotency_key')),
    sa.UniqueConstraint('number', name=op.f('uq_redemptions_number'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_station_created', ['station_id', 'created_at'], unique=False)
        batch_op.create_index('ix_redemptions_volunteer_created', ['volunteer_id', 'created_at'], unique=False)

    op.create_table('redemption_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_name', sa.String(length=100), nullable=False),
    sa.Column('commodity', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_redemption_lines_positive_quantity')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_redemption_lines_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_redemption_lines_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_lines'))
    )
    with op.batch_alter_table('redemption_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_lines_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_lines_redemption_id'), ['redemption_id'], unique=False)

    op.create_table('station_stock',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_station_stock_non_negative')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_station_stock_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_stock_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_stock')),
    sa.UniqueConstraint('station_id', 'item_id', name='uq_station_stock_station_item')
    )
    with op.batch_alter_table('station_stock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_stock_item_id'), ['item_id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('change', sa.Integer(), nullable=False),
    sa.Column('quantity_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('change <> 0', name=op.f('ck_stock_movements_non_zero')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_stock_movements_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_stock_movements_redemption_id_redemptions')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_stock_movements_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_station_item', ['station_id', 'item_id', 'id'], unique=False)

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_days', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('opens_at', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.String(length=5), nullable=True))

    create_triggers()


def downgrade() -> None:
    drop_triggers()
    # In place: rebuilding the table would trip over the role grants that point at stations.
    with op.batch_alter_table('stations', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
        batch_op.drop_column('open_days')

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_station_item')

    op.drop_table('stock_movements')
    with op.batch_alter_table('station_stock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_stock_item_id'))

    op.drop_table('station_stock')
    with op.batch_alter_table('redemption_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_lines_redemption_id'))
        batch_op.drop_index(batch_op.f('ix_redemption_lines_item_id'))

    op.drop_table('redemption_lines')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_volunteer_created')
        batch_op.drop_index('ix_redemptions_station_created')

    op.drop_table('redemptions')
    with op.batch_alter_table('catalogue_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_items_station_id'))
        batch_op.drop_index(batch_op.f('ix_catalogue_items_organisation_id'))

    op.drop_table('catalogue_items')


#: What was redeemed and how stock moved is history: corrections are voids and new movements, never edits.
APPEND_ONLY = ("stock_movements", "redemption_lines")

PG_FUNCTION = """
CREATE FUNCTION stock_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


def create_triggers() -> None:
    """Refuse UPDATE and DELETE on the stock movements and the redemption lines."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(PG_FUNCTION)
    for table in APPEND_ONLY:
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION stock_history_append_only()"
            )
            continue
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {action} refused'); END"
            )


def drop_triggers() -> None:
    """Undo create_triggers."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS stock_history_append_only()")
