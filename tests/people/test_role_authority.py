"""Staff roles, certificate levels and staff passwords come from above: never from oneself or a peer."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from timebank.audit.models import AuditEntry
from timebank.people.models import RoleGrant
from tests.conftest import signed_in

SENIOR = {"role": "social_worker", "certificate_level": "高级社会工作师", "certificate_number": "SW-2026-0001"}


@pytest.fixture
def people(make_person):
    """The east community's coordinator and social worker, the street's coordinator, an admin, a volunteer."""
    return {
        "coordinator": make_person("coordinator", org="east", name="陈协调"),
        "social_worker": make_person("social_worker", org="east", name="孙社工"),
        "street": make_person("coordinator", org="street", name="街道协调"),
        "admin": make_person("admin", org="county", name="王管理"),
        "volunteer": make_person(org="east", name="李志愿"),
    }


def grant(client, person, org_tree, **role):
    return client.post(f"/api/v1/people/{person.id}/roles", json={"organisation_id": org_tree["east"].id, **role})


def live_roles(session, person) -> set[str]:
    roles = set(session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person.id, RoleGrant.revoked_at.is_(None))))
    session.rollback()
    return roles


def test_a_coordinator_cannot_give_themself_a_social_worker_certificate(app, people, org_tree, session):
    me = people["coordinator"]
    answer = grant(signed_in(app, me), me, org_tree, **SENIOR)
    assert answer.status_code == 403
    assert live_roles(session, me) == {"volunteer", "coordinator"}


def test_no_one_grants_themself_a_role_not_even_an_admin(app, people, org_tree):
    admin = people["admin"]
    assert grant(signed_in(app, admin), admin, org_tree, role="coordinator").status_code == 403


def test_a_peer_coordinator_cannot_make_social_workers_or_coordinators_at_their_own_level(app, people, org_tree, session):
    client = signed_in(app, people["coordinator"])
    volunteer = people["volunteer"]
    assert grant(client, volunteer, org_tree, **SENIOR).status_code == 403
    assert grant(client, volunteer, org_tree, role="coordinator").status_code == 403
    assert live_roles(session, volunteer) == {"volunteer"}


@pytest.mark.parametrize("granter", ["street", "admin"])
def test_a_coordinator_above_or_an_admin_grants_a_certificate_and_the_audit_log_keeps_it(app, people, org_tree, session, granter):
    volunteer = people["volunteer"]
    answer = grant(signed_in(app, people[granter]), volunteer, org_tree, **SENIOR)
    assert answer.status_code == 201, answer.json
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "grant_role", AuditEntry.target_id == volunteer.id)).one()
    assert entry.actor_id == people[granter].id
    assert json.loads(entry.changes) == {
        "role": [None, "social_worker"], "organisation_id": [None, org_tree["east"].id],
        "certificate_level": [None, "高级社会工作师"], "certificate_number": [None, "SW-2026-0001"],
    }


def reset(client, person):
    return client.post(f"/api/v1/people/{person.id}/reset-password", json={})


def test_a_coordinator_cannot_reset_the_password_of_their_communitys_social_worker(app, people, session):
    client = signed_in(app, people["coordinator"])
    assert reset(client, people["social_worker"]).status_code == 403
    assert reset(client, people["coordinator"]).status_code == 403  # nor their own
    signed_in(app, people["social_worker"])  # the old password still works
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "reset_password")) is None


def test_a_coordinator_resets_a_volunteers_password_and_one_above_resets_the_social_workers(app, people, session):
    assert reset(signed_in(app, people["coordinator"]), people["volunteer"]).status_code == 200
    assert reset(signed_in(app, people["street"]), people["social_worker"]).status_code == 200
    resets = session.execute(select(AuditEntry.actor_id, AuditEntry.target_id).where(AuditEntry.action == "reset_password")).all()
    assert sorted(resets) == sorted([(people["coordinator"].id, people["volunteer"].id), (people["street"].id, people["social_worker"].id)])
