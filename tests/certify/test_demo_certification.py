"""`timebank demo` shows certification: programmes, volunteers at every star level, certificates issued and revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from timebank import ledger
from timebank.certify.models import Certificate, CertificateKind, ContinuingEducation, Programme, StarLevelEvent


@pytest.fixture
def db(demo_db):
    """The shared demo (tests/conftest.py), a copy of this test's own."""
    return demo_db[0]


def test_the_demo_has_every_star_level_programmes_and_issued_and_revoked_certificates(session, demo_db):
    summary = demo_db[1]
    assert "certification: volunteers at stars [1, 2, 3, 4, 5]" in summary
    held = session.execute(select(StarLevelEvent.person_id, func.max(StarLevelEvent.level)).where(StarLevelEvent.lost_at.is_(None)).group_by(StarLevelEvent.person_id)).all()
    assert {level for _, level in held} == {1, 2, 3, 4, 5}
    assert session.scalar(select(func.count()).select_from(Programme)) == 2
    certificates = session.scalars(select(Certificate).where(Certificate.kind == CertificateKind.PROGRAMME.value)).all()
    assert len(certificates) == 4 and sum(1 for c in certificates if c.revoked_at) == 1
    assert session.scalar(select(func.count()).select_from(ContinuingEducation)) == 5
    assert list(ledger.verify(session)) == []
