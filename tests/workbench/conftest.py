"""The workbench tests' programme (tests/workbench/world.py)."""

from __future__ import annotations

import pytest

from tests.workbench.world import build_programme_world


@pytest.fixture
def programme_world(session, org_tree, make_person, make_activity, ledger_setup, credit):
    """East and west communities with figures worked out by hand."""
    return build_programme_world(session, org_tree, make_person, make_activity, ledger_setup, credit)
