"""The admins' jobs page and the periodic tasks that replaced cron lines, with jobs run at once (the queue's immediate mode)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.conftest import NOW, send, signed_in, text
from timebank import ledger
from timebank.db import utcnow
from timebank.jobs import SPECS, services
from timebank.jobs.models import Job
from timebank.jobs.periodic import expire_holds, seal_ledger
from timebank.ledger import rules
from timebank.ledger.models import Commodity
from timebank.ledger.seal import seal_status


def test_admins_see_failed_jobs_with_their_error_and_send_them_again(app, session, make_person):
    services.note(session, "job-broken", "tests.broken", {"status": "failed", "error": "RuntimeError: the printer is on fire", "attempts": 2}, now=NOW)
    services.note(session, "job-queued", "certify.batch", {"status": "queued", "args_json": "[7]"}, now=NOW)
    session.commit()
    admin = signed_in(app, make_person("admin"))
    page = text(admin.get("/jobs?lang=en"))
    assert "the printer is on fire" in page and "certify.batch" in page and "ledger.expire_holds" in page and "every minute" in page
    assert page.count("Run again") == 1  # only the failed one

    again = send(admin, "/jobs/job-broken/retry")

    assert again.status_code == 302
    session.commit()
    rerun = session.get(Job, "job-broken")
    session.refresh(rerun)
    assert rerun.attempts == 3 and rerun.status == "scheduled" and "on fire" in rerun.error  # ran again at once, failed, its retry waits
    session.commit()
    assert send(admin, "/jobs/job-queued/retry").status_code == 409
    assert signed_in(app, make_person("coordinator")).get("/jobs").status_code == 403


def test_holds_past_their_expiry_are_freed_by_the_periodic_task_that_replaced_the_cron_line(app, session, ledger_setup, credit):
    ledger_setup(volunteers=(1,))
    credit(1, minutes=120)
    held = ledger.hold(session, rules.volunteer_code(1, Commodity.HOUR), 60, actor=1, now=utcnow() - dt.timedelta(hours=2), expires_at=utcnow() - dt.timedelta(minutes=1), idempotency_key="order-1")
    session.commit()
    assert "ledger.expire_holds" in SPECS and SPECS["ledger.expire_holds"].schedule is not None
    with app.app_context():
        assert expire_holds() == 1
        assert expire_holds() == 0
    session.commit()
    assert session.scalar(select(ledger.Hold.status).where(ledger.Hold.id == held.id)) == "expired"


def test_the_periodic_seal_chains_what_was_committed_since_its_last_run(app, session, ledger_setup, credit):
    ledger_setup(volunteers=(1,))
    credit(1, minutes=60)
    credit(1, minutes=30)
    assert "ledger.seal" in SPECS and SPECS["ledger.seal"].schedule is not None
    with app.app_context():
        assert seal_ledger() == 2
        assert seal_ledger() == 0
        credit(1, minutes=15)
        assert seal_ledger() == 1
    session.commit()
    status = seal_status(session)
    assert (status.sealed, status.unsealed) == (3, 0)
    assert list(ledger.verify(session)) == []
