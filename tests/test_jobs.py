"""The scheduled jobs with the clock moved: each does exactly its work, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.contracts import signing
from marketplace.core.jobruns import JobLock, JobRun
from marketplace.core.messages import render
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db as _db
from marketplace.jobs import registry, runner, scheduler
from marketplace.tenders.bids.ceremony import keys, verbs
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.committee.models import Award
from marketplace.tenders.models import Tender
from tests import bid_factories as bf
from tests import contract_factories as cf
from tests import factories
from tests.conftest import PG_URL

# 00:30 in Beijing on Wed 21 Oct 2026, still 20 Oct in UTC: day counts must be local.
LOCAL_MIDNIGHT = datetime(2026, 10, 20, 16, 30, tzinfo=UTC)
TODAY = date(2026, 10, 21)


def _notes(kind: str) -> list[Notification]:
    return list(
        _db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
    )


def _run(name: str) -> JobRun:
    run = runner.run_job(name)
    assert run.status == "ok", run.error
    _db.session.expire_all()
    return run


def _contract(world, due_dates, **kwargs):
    amounts = ["100000.00", "100000.00", "80000.00"][: len(due_dates)]
    amounts[-1] = str(280000 - 100000 * (len(due_dates) - 1)) + ".00"
    contract, org, member = cf.contract_rows(
        world,
        milestones=[(f"里程碑{i}", d, a) for i, (d, a) in enumerate(zip(due_dates, amounts, strict=True))],
    )
    return contract, org, member


# --- flag-overdue ------------------------------------------------------------------------------


def test_flag_overdue_counts_local_days_notifies_once_a_day_and_never_moves_due_dates(world, db):
    contract, org, member = _contract(world, [TODAY - timedelta(days=1), TODAY - timedelta(days=10), TODAY])
    late, met, due_today = contract.milestones
    met.status, met.overdue_days = "accepted", 4  # met late: its stale flag goes
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    assert local_date(clock.now()) == TODAY and clock.now().date() == TODAY - timedelta(days=1)

    run = _run("flag-overdue")
    assert late.overdue_days == 1 and late.due_date == TODAY - timedelta(days=1)
    assert met.overdue_days is None and due_today.overdue_days is None
    assert late.overdue_notified_on == TODAY and met.overdue_notified_on is None
    notes = _notes("milestone.overdue")
    recipients = {n.user_id for n in notes}
    assert {world["officer"].id, member.id} <= recipients
    assert world["other_officer"].id not in recipients and world["org_member"].id not in recipients
    assert len(notes) == len(recipients)  # one digest per person
    subject = render(notes[0].subject, notes[0].params)
    assert (
        subject.startswith("1 milestone(s) overdue in 1 contract(s)")
        and notes[0].link == f"/contracts/{contract.id}"
    )
    assert "里程碑0" in render(notes[0].body, notes[0].params)
    assert run.changed == 2 and run.details["flagged"] == 1 and run.details["cleared"] == 1
    assert run.details["flagged_milestones"] == [late.id]

    again = _run("flag-overdue")  # same local day: nothing new, no second notice
    assert again.changed == 0 and len(_notes("milestone.overdue")) == len(notes)

    clock.advance(timedelta(hours=23))  # 23:30 the same local day
    assert _run("flag-overdue").changed == 0

    clock.advance(timedelta(hours=1))  # the next local day: one digest each, naming both milestones
    next_day = _run("flag-overdue")
    assert late.overdue_days == 2 and due_today.overdue_days == 1
    assert next_day.details["flagged_milestones"] == [late.id, due_today.id]
    assert len(_notes("milestone.overdue")) == 2 * len(recipients)
    latest = _notes("milestone.overdue")[-1]
    assert latest.params["items"] == "2" and latest.params["earliest"] == late.due_date.isoformat()
    assert met.overdue_days is None and met.due_date == TODAY - timedelta(days=10)


def test_accepted_milestones_and_other_contracts_are_never_flagged(world, db):
    contract, _org, _member = _contract(world, [TODAY - timedelta(days=3), TODAY - timedelta(days=2)])
    contract.milestones[0].status = "accepted"
    other, _o, _m = cf.contract_rows(world, status="draft")
    for m in other.milestones:
        m.due_date = TODAY - timedelta(days=5)
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    _run("flag-overdue")
    assert contract.milestones[0].overdue_days is None and contract.milestones[1].overdue_days == 2
    assert all(m.overdue_days is None for m in other.milestones)  # not active: not delivering yet


# --- send-reminders ----------------------------------------------------------------------------


def test_reminders_go_once_per_due_date_to_the_organization(app, world, db):
    contract, _org, member = _contract(
        world, [TODAY + timedelta(days=7), TODAY + timedelta(days=8), TODAY + timedelta(days=3)]
    )
    soon, later_one, met = contract.milestones
    met.status = "accepted"
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    assert app.config["REMINDER_DAYS"] == 7

    run = _run("send-reminders")
    assert run.changed == 1 and run.details["reminded_milestones"] == [soon.id]
    assert soon.reminded_for_due == soon.due_date and later_one.reminded_for_due is None
    notes = _notes("milestone.reminder")
    assert [n.user_id for n in notes] == [member.id] and "7" in render(notes[0].subject, notes[0].params)
    assert _run("send-reminders").changed == 0 and len(_notes("milestone.reminder")) == 1

    clock.advance(timedelta(days=1))  # the next one enters the window
    assert _run("send-reminders").details["reminded_milestones"] == [later_one.id]
    soon.due_date = soon.due_date + timedelta(days=1)  # a variation moved it: a new reminder
    db.session.commit()
    assert _run("send-reminders").details["reminded_milestones"] == [soon.id]
    assert _run("send-reminders").changed == 0


# --- contract-deadlines ------------------------------------------------------------------------


def test_unsigned_contracts_are_flagged_after_30_days_once(world, db):
    draft, _org, member = cf.contract_rows(world, status="draft")
    award = db.session.get(Award, draft.award_id)
    db.session.commit()
    clock.set_now(award.published_at + timedelta(days=29, hours=23))
    assert _run("contract-deadlines").changed == 0
    # The last minute of the signing deadline's local day: still in time (as the contract page says).
    after_deadline = start_of_local_day(signing.signing_deadline(draft) + timedelta(days=1))
    clock.set_now(after_deadline - timedelta(minutes=1))
    assert not signing.unsigned_overdue(draft)
    assert _run("contract-deadlines").changed == 0
    clock.set_now(after_deadline + timedelta(minutes=1))
    assert signing.unsigned_overdue(draft)
    run = _run("contract-deadlines")
    assert run.details["unsigned_flagged"] == [draft.id] and draft.unsigned_flagged_at == clock.now()
    notes = _notes("contract.unsigned")
    assert world["officer"].id in {n.user_id for n in notes} and member.id not in {n.user_id for n in notes}
    clock.advance(timedelta(days=3))
    assert _run("contract-deadlines").changed == 0 and len(_notes("contract.unsigned")) == len(notes)


def test_contracts_ending_soon_are_announced_to_both_parties_once(world, db):
    contract, _org, member = cf.contract_rows(world)
    today = local_date(clock.now())
    contract.term_end = today + timedelta(days=31)
    db.session.commit()
    assert _run("contract-deadlines").changed == 0
    clock.advance(timedelta(days=1))
    run = _run("contract-deadlines")
    assert run.details["expiry_notified"] == [contract.id] and contract.expiry_notified_at is not None
    assert {world["officer"].id, member.id} <= {n.user_id for n in _notes("contract.expiring")}
    assert _run("contract-deadlines").changed == 0


# --- open-bids and finalize-awards ------------------------------------------------------------


def test_open_bids_opens_tenders_past_their_deadline_once(world, db):
    due = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    not_yet = factories.published(world["officer"], bid_deadline=factories.deadline_in(36))
    for i in range(3):
        org, member = bf.organization(f"定时开标{i}")
        bf.submitted_bid(due, org, member, price=f"{290000 + i}.00")
    db.session.commit()
    assert _run("open-bids").changed == 0
    clock.set_now(due.bid_deadline + timedelta(seconds=30))
    run = _run("open-bids")
    # The bids are encrypted: the job begins the opening ceremony, the officers' shares open them.
    assert run.details == {"opened": [due.id]} and run.changed == 1
    assert keys.key_of(due).ceremony_started_at is not None
    assert (
        db.session.get(Tender, due.id).status == "open"
        and db.session.get(Tender, not_yet.id).status == "open"
    )
    assert _run("open-bids").changed == 0  # begun once
    assert db.session.scalar(select(func.count()).select_from(BidOpening)) == 0
    assert not bf.open_sealed(db.session.get(Tender, due.id)).failed
    db.session.commit()
    assert (
        db.session.get(Tender, due.id).status == "opened"
        and db.session.get(Tender, not_yet.id).status == "open"
    )
    assert _run("open-bids").changed == 0
    assert db.session.scalar(select(func.count()).select_from(BidOpening)) == 1


def test_open_bids_fails_a_ceremony_not_completed_within_its_window(world, db):
    tender = factories.published(world["officer"], bid_deadline=factories.deadline_in(29))
    bids = []
    for i in range(3):
        org, member = bf.organization(f"窗口开标{i}")
        bids.append(bf.submitted_bid(tender, org, member)[0])
    db.session.commit()
    clock.set_now(tender.bid_deadline)
    assert _run("open-bids").changed == 1  # the ceremony begins; no officer contributes
    clock.set_now(verbs.window_end(tender) - timedelta(seconds=1))
    assert _run("open-bids").changed == 0 and db.session.get(Tender, tender.id).status == "open"
    clock.set_now(verbs.window_end(tender))
    run = _run("open-bids")
    assert run.details == {"opened": [tender.id]} and run.changed == 1
    tender = db.session.get(Tender, tender.id)
    assert tender.status == "failed" and "decryption window" in tender.failure_reason
    opening = db.session.scalar(select(BidOpening))
    assert sorted(r["bid_id"] for r in opening.undecrypted) == sorted(b.id for b in bids)
    assert {r["outcome"] for r in opening.undecrypted} == {"withdrawn"}
    assert all(b.status == "withdrawn" for b in bids)
    assert _run("open-bids").changed == 0


def test_finalize_awards_at_the_end_of_the_challenge_window(world, db):
    tender, award, _org, _member = cf.final_award(world)
    award.status, award.final_at = "notice", None  # back inside the window
    db.session.commit()
    clock.set_now(award.challenge_deadline - timedelta(minutes=1))
    assert _run("finalize-awards").changed == 0 and award.status == "notice"
    clock.set_now(award.challenge_deadline + timedelta(minutes=1))
    run = _run("finalize-awards")
    assert run.details == {"finalized": [tender.id]} and award.status == "final"
    assert _run("finalize-awards").changed == 0


# --- the run log, the lock, failures ---------------------------------------------------------


def test_each_run_is_recorded_and_the_lock_row_is_released(world, db):
    run = _run("contract-deadlines")
    assert run.id and run.job == "contract-deadlines" and run.finished_at >= run.started_at and run.host
    if not PG_URL:  # the lock row is SQLite's lock; PostgreSQL uses an advisory lock (test_jobs_pg)
        lock = db.session.get(JobLock, "contract-deadlines")
        assert lock is not None and lock.locked_until is None and lock.holder == run.host


@pytest.mark.skipif(bool(PG_URL), reason="the lock row is SQLite's; test_jobs_pg covers the advisory lock")
def test_a_held_lock_skips_the_run_until_it_expires(app, world, db):
    contract, _org, _member = _contract(world, [TODAY - timedelta(days=1)])
    db.session.add(
        JobLock(name="flag-overdue", holder="elsewhere:1", locked_until=LOCAL_MIDNIGHT + timedelta(minutes=5))
    )
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    skipped = runner.run_job("flag-overdue")
    db.session.expire_all()
    assert skipped.status == "skipped" and skipped.changed == 0
    # A tick another process holds leaves no run row (issue 18: no "skipped" row per tick).
    assert (
        skipped.id is None
        and db.session.scalars(select(JobRun).where(JobRun.status == "skipped")).all() == []
    )
    assert contract.milestones[0].overdue_days is None and _notes("milestone.overdue") == []
    assert db.session.get(JobLock, "flag-overdue").holder == "elsewhere:1"
    clock.advance(timedelta(minutes=6))  # the crashed holder's lock expired
    assert _run("flag-overdue").details["flagged"] == 1


def test_a_failing_job_rolls_back_its_work_and_records_the_error(world, db, monkeypatch):
    db.session.commit()

    def half_done(now):
        _db.session.add(Notification(user_id=world["admin"].id, kind="half", subject="half", created_at=now))
        _db.session.flush()
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(
        registry.JOBS, "flag-overdue", registry.Job("flag-overdue", half_done, "JOB_SLOW_INTERVAL", "x")
    )
    run = runner.run_job("flag-overdue")
    assert (
        run.status == "error" and "disk on fire" in run.error and run.details["exception"] == "RuntimeError"
    )
    assert _notes("half") == []
    assert PG_URL or db.session.get(JobLock, "flag-overdue").locked_until is None
    stored = db.session.scalars(select(JobRun).where(JobRun.job == "flag-overdue")).one()
    assert stored.status == "error"


def test_unknown_job_name(db):
    with pytest.raises(registry.UnknownJob):
        runner.run_job("no-such-job")


# --- command line ------------------------------------------------------------------------------


def test_cli_list_run_once_and_unknown_names(app, world, db):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["jobs", "list"])
    assert r.exit_code == 0 and all(name in r.output for name in registry.JOBS)
    r = runner.invoke(args=["jobs", "run-once", "contract-deadlines"])
    assert r.exit_code == 0, r.output
    assert "contract-deadlines: ok, 0 changed" in r.output
    r = runner.invoke(args=["jobs", "run-once", "no-such-job"])
    assert r.exit_code == 2 and "no job named" in r.output
    assert "last ok" in runner.invoke(args=["jobs", "list"]).output


def test_cli_run_once_reports_what_changed(app, world, db):
    _contract(world, [TODAY - timedelta(days=1)])
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    r = app.test_cli_runner().invoke(args=["jobs", "run-once", "flag-overdue"])
    assert r.exit_code == 0, r.output
    assert "flag-overdue: ok, 1 changed" in r.output and '"flagged": 1' in r.output


def test_scheduler_starts_only_when_enabled_outside_tests(app):
    assert not scheduler.should_start(app)
    from flask import Flask

    server = Flask("x")
    server.config.update(SCHEDULER_ENABLED=True, TESTING=False)
    assert scheduler.should_start(server)
    server.config["SCHEDULER_ENABLED"] = False
    assert not scheduler.should_start(server)


def test_scheduler_wiring_runs_each_job_in_an_app_context(app, db):
    from apscheduler.schedulers.background import BackgroundScheduler

    background = BackgroundScheduler(timezone="UTC")
    scheduler.add_jobs(background, app)
    assert {j.id for j in background.get_jobs()} == set(registry.JOBS)
    background.get_job("contract-deadlines").func()  # what the scheduler thread calls
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


# --- the admin page ----------------------------------------------------------------------------


def test_run_log_page_is_for_admins(client, login_as, world, db):
    assert client.get("/admin/jobs").status_code == 302  # anonymous: sign in
    for role in ("officer", "org_member", "auditor", "evaluator"):
        login_as(role)
        assert client.get("/admin/jobs").status_code == 403, role
        assert client.post("/admin/jobs/open-bids/run").status_code == 403, role
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0
    login_as("admin")
    page = client.get("/admin/jobs")
    assert page.status_code == 200 and b"finalize-awards" in page.data and b"Run now" in page.data
    assert b"Job runs" in page.data  # the navigation entry


def test_admin_runs_a_job_now_and_sees_it_in_the_log(client, login_as, world, db):
    login_as("admin")
    r = client.post("/admin/jobs/send-reminders/run", follow_redirects=True)
    assert r.status_code == 200 and b"send-reminders ran: 0 changed" in r.data
    assert b"<code>send-reminders</code>" in r.data
    assert client.post("/admin/jobs/nothing/run").status_code == 404
    filtered = client.get("/admin/jobs?job=open-bids")
    assert filtered.status_code == 200 and b"No runs recorded yet." in filtered.data
    login_as("officer")
    assert b"Job runs" not in client.get("/").data
