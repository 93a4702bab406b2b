"""the workbench's indexes: undecided attendances by status, volunteers' accounts by owner

Revision ID: c4d2a8e7f913
Revises: 81776067ed2e
Create Date: 2026-12-02 05:30:00+00:00
"""

from alembic import op


revision = 'c4d2a8e7f913'
down_revision = '81776067ed2e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # What waits for review is found by status (a few rows among a million approved ones), not by a scan.
    op.create_index('ix_attendances_status_activity', 'attendances', ['status', 'activity_id'], unique=False)
    # The points a subtree's volunteers hold (the programme's liability) are read by owner.
    op.create_index('ix_accounts_owner', 'accounts', ['owner_type', 'owner_id', 'commodity'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_accounts_owner', table_name='accounts')
    op.drop_index('ix_attendances_status_activity', table_name='attendances')
