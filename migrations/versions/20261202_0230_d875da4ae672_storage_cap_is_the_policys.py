"""the storage cap is the policy's: volunteers' time credit accounts keep no copy of it

Approval used to copy `hour_cap_minutes` into each volunteer's HOUR account
(`max_balance`), so a cap changed later never reached existing accounts. The
cap now applies at each credit as the volunteer's policy stands; the copies
go. Downgrading leaves the accounts without a stored cap: the older code
then credits them without one, as it does any account opened without a cap.

Revision ID: d875da4ae672
Revises: 7c41d2e8a9b3
Create Date: 2026-12-02 02:30:00+00:00
"""

from alembic import op


revision = 'd875da4ae672'
down_revision = '7c41d2e8a9b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE accounts SET max_balance = NULL "
        "WHERE owner_type = 'volunteer' AND commodity = 'HOUR' AND max_balance IS NOT NULL"
    )


def downgrade() -> None:
    # The copies cannot be told from a deliberate ceiling once gone, and none is needed.
    pass
