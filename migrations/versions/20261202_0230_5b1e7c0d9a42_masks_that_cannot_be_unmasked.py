"""people: masked ID numbers that the birth date and check digit cannot give back

Revision ID: 5b1e7c0d9a42
Revises: 5b1f0c2a9d47
Create Date: 2026-12-02 02:30:00+00:00

The old mask of a resident ID number kept its first four and last four
characters; with the birth date shown beside it, the check digit left one or
two candidates for the hidden ones. Every stored mask is redrawn from the old
one (the whole number is sealed and stays so). The downgrade keeps the
stricter masks: the characters they hide cannot come back without the data
key, and the older code shows them as they are.
"""

from alembic import op
import sqlalchemy as sa


revision = '5b1e7c0d9a42'
down_revision = '5b1f0c2a9d47'
branch_labels = None
depends_on = None

people = sa.table('people', sa.column('id', sa.Integer), sa.column('id_type', sa.String), sa.column('id_number_masked', sa.String))


def _redrawn(id_type: str | None, masked: str) -> str:
    """The mask as timebank.people.idnumbers.mask draws it now, from the old mask's visible ends."""
    if id_type == 'resident_id' and len(masked) == 18:
        return masked[:4] + '*' * 13 + masked[-1]
    if len(masked) <= 8:
        return masked
    return masked[:2] + '*' * (len(masked) - 4) + masked[-2:]


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(people.c.id, people.c.id_type, people.c.id_number_masked).where(people.c.id_number_masked.is_not(None))
    ).all()
    for person_id, id_type, masked in rows:
        redrawn = _redrawn(id_type, masked)
        if redrawn != masked:
            connection.execute(people.update().where(people.c.id == person_id).values(id_number_masked=redrawn))


def downgrade() -> None:
    pass
