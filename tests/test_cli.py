from datetime import timedelta

from sqlalchemy import func, select

from marketplace import clock
from marketplace.auth.models import User
from marketplace.core.timeutil import local_date
from marketplace.tenders.models import Tender
from tests.factories import PASSWORD


def test_users_create(app, world, db):
    runner = app.test_cli_runner()
    r = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@test.org",
            "--role",
            "officer",
            "--password",
            PASSWORD,
            "--agency",
            str(world["agency"].id),
        ]
    )
    assert r.exit_code == 0, r.output
    user = db.session.scalar(select(User).where(User.email == "new@test.org"))
    assert user.agency_id == world["agency"].id and user.check_password(PASSWORD)
    r = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@test.org",
            "--role",
            "officer",
            "--password",
            PASSWORD,
            "--agency",
            "No such agency",
        ]
    )
    assert r.exit_code == 1 and "no agency" in r.output
    r = runner.invoke(
        args=["users", "create", "--email", "new@test.org", "--role", "auditor", "--password", PASSWORD]
    )
    assert r.exit_code == 1 and "already exists" in r.output
    r = runner.invoke(
        args=["users", "create", "--email", "y@test.org", "--role", "king", "--password", PASSWORD]
    )
    assert r.exit_code != 0


def test_seed_demo(app, db):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert r.exit_code == 0, r.output
    # The demo's own tenders; the red-flag cases add ten archived processes (110101-LS-…, all closed) and
    # the residents' needs one draft made from needs (docs/red-flags.md, docs/needs.md).
    live = Tender.reference.is_(None) | ~Tender.reference.like("%-LS-%")
    assert db.session.scalar(select(func.count()).select_from(Tender)) == 42
    statuses = dict(
        db.session.execute(select(Tender.status, func.count()).where(live).group_by(Tender.status)).all()
    )
    # 25 published and not cancelled: 18 still open (one of them an invited tender; one, a request for
    # quotation without bids, already past its deadline for the open-bids job) and 7 closed before,
    # all opened by the demo at their opening ceremonies: 4 with enough bids, evaluated and awarded, one
    # more waiting for its evaluation; 2 with only two bids (a public tender and a request for
    # quotation, which need 3) failed.
    assert statuses == {"draft": 5, "open": 18, "awarded": 4, "evaluation": 1, "failed": 2, "cancelled": 2}
    invited = db.session.scalars(select(Tender).where(Tender.method == "invited_tender")).one()
    assert len(invited.invitations) >= 3 and invited.invitation_draws  # the draw is recorded
    from marketplace.contracts.models import Contract, Payment, ServiceRecord
    from marketplace.tenders.committee.models import Award

    awards = db.session.scalars(select(Award).join(Tender).where(live).order_by(Award.id)).all()
    # The third is in its window; the fourth is final and waits for its contract.
    assert [a.status for a in awards] == ["final", "final", "notice", "final"]
    contracts = db.session.scalars(
        select(Contract).where(~Contract.reference.like("HT-LS-%")).order_by(Contract.id)
    ).all()
    assert [c.status for c in contracts] == ["active", "active"]
    assert {c.award_id for c in contracts} == {awards[0].id, awards[1].id}
    today = local_date(clock.now())
    for c in contracts:
        assert sum(m.amount for m in c.milestones) == c.value
        pending = [m for m in c.milestones if m.status != "accepted"]
        assert sum(m.due_date < today for m in pending) == 1  # one milestone overdue
        assert sum(today <= m.due_date <= today + timedelta(days=7) for m in pending) == 1  # one due soon
        records = db.session.scalars(select(ServiceRecord).where(ServiceRecord.contract_id == c.id)).all()
        assert len(records) >= 5 and all(r.service_date < today for r in records)
        paid = db.session.scalars(select(Payment).where(Payment.contract_id == c.id)).all()
        assert [p.amount for p in paid] == [c.milestones[0].amount]
    assert sum(len(c.milestones) for c in contracts) == 8
    from marketplace.performance.models import Evaluation, SurveyResponse

    rounds = db.session.scalars(select(Evaluation).order_by(Evaluation.id)).all()
    assert [(r.stage, r.status) for r in rounds][:2] == [
        ("in_progress", "declared"),
        ("ex_post", "submitted"),
    ]
    assert rounds[1].total is not None and rounds[1].grade in {"excellent", "good", "fair", "poor"}
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 17
    from marketplace.orgs.models import Organization
    from marketplace.tenders.bids.models import Bid, BidOpening

    orgs = dict(
        db.session.execute(select(Organization.status, func.count()).group_by(Organization.status)).all()
    )
    assert orgs == {"verified": 7, "pending": 1, "info_requested": 1, "debarred": 1}
    assert db.session.scalar(select(func.count()).select_from(Bid).where(Bid.status == "submitted")) >= 8
    from marketplace.auth.opening_keys import OpeningKey
    from marketplace.tenders.bids.ceremony.models import TenderKey

    openings = db.session.scalars(select(BidOpening).join(Tender).where(live)).all()
    assert sorted(o.failed for o in openings) == [False] * 5 + [True] * 2
    for opening in openings:
        key = db.session.scalar(select(TenderKey).where(TenderKey.tender_id == opening.tender_id))
        if opening.failed:  # too few bids: never decrypted, nothing disclosed (O87 41)
            assert "Only 2 bid(s)" in opening.failure_reason and opening.record == []
            assert key.ceremony_started_at is None
            bids = db.session.scalars(select(Bid).where(Bid.tender_id == opening.tender_id)).all()
            assert len(bids) == 2 and all(b.price is None and b.submissions[-1].content is None for b in bids)
            continue
        assert key.completed_at is not None and opening.undecrypted is None  # decrypted at the ceremony
        for row in opening.record:
            submitted = db.session.get(Bid, row["bid_id"]).submissions[-1]
            assert submitted.digest == row["digest"] and submitted.sealed_sha256 == row["sealed_sha256"]
            assert f"{submitted.price:.2f}" == row["price"]
    officer = db.session.scalar(select(User).where(User.email == "officer@example.org"))
    assert officer.check_password("demo-password") and officer.agency is not None
    officers = db.session.scalars(select(User).where(User.role == "officer").order_by(User.email)).all()
    assert [u.email for u in officers] == [f"officer{n}@example.org" for n in ("2", "3", "")]
    assert officers[1].agency_id == officer.agency_id  # a second opening officer of the civil affairs bureau
    holders = db.session.scalars(select(OpeningKey.user_id)).all()
    assert sorted(holders) == sorted(u.id for u in officers)  # every officer holds an opening key
    assert {u.email for u in db.session.scalars(select(User).where(User.role == "evaluator"))} == {
        f"expert{i}@example.org" for i in range(1, 13)
    }
    from marketplace.tenders.committee.models import Expert, ExpertDraw

    assert db.session.scalar(select(func.count()).select_from(Expert)) == 12  # the expert pool
    assert db.session.scalar(select(func.count()).select_from(ExpertDraw)) >= 1
    r = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert "already has data" in r.output
    assert db.session.scalar(select(func.count()).select_from(Tender)) == 42


def test_seed_logins_lists_demo_accounts(app):
    r = app.test_cli_runner().invoke(args=["seed", "logins"])
    assert "officer@example.org" in r.output and "demo-password" in r.output


def test_districts_load(app, db, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text(
        "code,name,name_en,level,parent_code\n110102,西城区,Xicheng,county,\n"
        "110102001,西长安街街道,,street,110102\n",
        "utf-8",
    )
    r = app.test_cli_runner().invoke(args=["districts", "load", str(f)])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,name_en,level,parent_code\n1,x,,planet,\n", "utf-8")
    r = app.test_cli_runner().invoke(args=["districts", "load", str(bad)])
    assert r.exit_code == 1 and "planet" in r.output


def test_calendar_set_for_next_years_notice(app, db):
    from datetime import date

    from marketplace.core.calendar import WorkingCalendar

    runner = app.test_cli_runner()
    assert WorkingCalendar.load().is_working_day(date(2027, 2, 8))  # a Monday, before any 2027 notice
    r = runner.invoke(args=["calendar", "set", "2027-02-08", "holiday", "春节 Spring Festival"])
    assert r.exit_code == 0, r.output
    assert not WorkingCalendar.load().is_working_day(date(2027, 2, 8))
    runner.invoke(args=["calendar", "set", "2027-02-20", "workday", "调休"])
    assert WorkingCalendar.load().is_working_day(date(2027, 2, 20))  # a Saturday worked
    runner.invoke(args=["calendar", "set", "2027-02-08", "normal"])
    assert WorkingCalendar.load().is_working_day(date(2027, 2, 8))
    assert runner.invoke(args=["calendar", "set", "2027-13-01", "holiday"]).exit_code != 0
