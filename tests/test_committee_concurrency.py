"""Two officers forming the same tender's committee at the same moment, on PostgreSQL: exactly one
committee exists afterwards (the tender row lock in ``form_committee``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db
from marketplace.tenders.committee.members import Appointment, form_committee
from marketplace.tenders.committee.models import CommitteeMember
from marketplace.tenders.models import Tender
from tests import bid_factories as bf
from tests import factories
from tests.bid_factories import open_sealed
from tests.conftest import PG_URL
from tests.factories import PASSWORD
from tests.test_contract_concurrency import _race

pytestmark = pytest.mark.skipif(not PG_URL, reason="concurrency tests need PostgreSQL: set TEST_DATABASE_URL")


def test_two_officers_forming_the_committee_at_once_make_one(app, committed):
    world = factories.world()
    other = auth_services.create_user(
        email="officer2@test.org", role="officer", password=PASSWORD, agency=world["agency"]
    )
    clock.set_now(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))
    tender = factories.published(
        world["officer"], bid_deadline=start_of_local_day(date(2026, 9, 15)) + timedelta(hours=9)
    )
    for i in range(3):
        org, member = bf.organization(f"并发投标{i}")
        bf.submitted_bid(tender, org, member, price=f"{300000 + i}.00")
    clock.set_now(tender.bid_deadline + timedelta(minutes=1))
    open_sealed(tender)
    experts = [
        auth_services.create_user(email=f"c{i}@test.org", role="evaluator", password=PASSWORD)
        for i in range(10)
    ]
    db.session.commit()
    ids = {
        "tender": tender.id,
        "officers": [world["officer"].id, other.id],
        "experts": [e.id for e in experts],
    }

    def form_as(officer_index, expert_ids):
        def prepare():
            t = db.session.get(Tender, ids["tender"])
            officer = db.session.get(User, ids["officers"][officer_index])
            chosen = [db.session.get(User, i) for i in expert_ids]
            appts = [Appointment(u, "expert", n == 0) for n, u in enumerate(chosen)]
            return lambda: form_committee(t, appts, officer)

        return prepare

    outcomes = _race(app, form_as(0, ids["experts"][:5]), form_as(1, ids["experts"][5:]))
    assert sorted(o == "won" for o in outcomes) == [False, True], outcomes
    assert "already formed" in next(o for o in outcomes if o != "won")
    db.session.remove()
    members = db.session.scalar(select(func.count()).select_from(CommitteeMember))
    assert members == 5
