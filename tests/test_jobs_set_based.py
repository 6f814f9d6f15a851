"""The scheduled jobs work on sets: a bounded number of statements whatever the number of rows, due
lists read a batch at a time, and run records that hold counts and at most the first 20 ids."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, insert, select

from marketplace import clock
from marketplace.contracts import notices, schedule, signing
from marketplace.contracts.models import Milestone
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.jobruns import DETAIL_IDS, JobRun
from marketplace.core.messages import render
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import local_date, start_of_local_day
from marketplace.extensions import db as _db
from marketplace.jobs import registry, runner
from marketplace.tenders.committee.models import Award
from marketplace.timelimits import tracking
from tests import contract_factories as cf
from tests.test_time_limits import at, opened

# 00:30 in Beijing on Wed 21 Oct 2026, still 20 Oct in UTC: day counts must be local.
LOCAL_MIDNIGHT = datetime(2026, 10, 20, 16, 30, tzinfo=UTC)
TODAY = date(2026, 10, 21)


def _run(name: str) -> JobRun:
    run = runner.run_job(name)
    assert run.status == "ok", run.error
    _db.session.expire_all()
    return run


@contextmanager
def _statements():
    """Count the statements sent to the database (every connection of the engine) inside the block."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "SAVEPOINT" not in statement:  # the test's own (the db fixture rolls each test back)
            sent.append(statement)

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)


def _add_milestones(contract, n: int, due: date) -> list[int]:
    """``n`` more milestones of ``contract`` due on ``due`` (one bulk INSERT); their ids."""
    first = (_db.session.scalar(select(func.max(Milestone.position))) or 0) + 1
    _db.session.execute(
        insert(Milestone),
        [
            {
                "contract_id": contract.id,
                "position": first + i,
                "deliverable": f"月度服务报告 {first + i}",
                "kind": "report",
                "due_date": due,
                "amount": Decimal("0"),
            }
            for i in range(n)
        ],
    )
    return list(
        _db.session.scalars(
            select(Milestone.id)
            .where(Milestone.contract_id == contract.id, Milestone.due_date == due)
            .order_by(Milestone.id)
        )
    )


def _notes(kind: str) -> list[Notification]:
    return list(
        _db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
    )


# --- flag-overdue: set-based --------------------------------------------------------------------------


def test_flag_overdue_sends_as_many_statements_for_300_overdue_milestones_as_for_100(world, db):
    contract, _org, member = cf.contract_rows(
        world, milestones=[("终期验收 Final acceptance", TODAY + timedelta(days=90), "280000.00")]
    )
    clock.set_now(LOCAL_MIDNIGHT)
    assert _run("flag-overdue").changed == 0  # the job's lock row exists from now on
    first = _add_milestones(contract, 100, TODAY - timedelta(days=3))
    db.session.commit()

    with _statements() as sent:
        run = _run("flag-overdue")
    statements_for_100 = len(sent)
    notes = _notes("milestone.overdue")
    # One digest per person for the 100 milestones, not 100 notifications each.
    assert sorted(n.user_id for n in notes) == sorted([world["officer"].id, member.id])
    assert run.details == {
        "flagged": 100,
        "cleared": 0,
        "flagged_milestones": first[:DETAIL_IDS],
        "notifications": 2,
    }
    assert run.changed == 100
    assert {(n.params["items"], n.params["contracts"], n.params["earliest"], n.link) for n in notes} == {
        ("100", "1", (TODAY - timedelta(days=3)).isoformat(), f"/contracts/{contract.id}")
    }
    assert all(f"月度服务报告 {i} (" in notes[0].params["list"] for i in range(1, 101))

    more = _add_milestones(contract, 200, TODAY - timedelta(days=1))
    db.session.commit()
    clock.advance(timedelta(days=1))  # a new local day: all 300 are flagged and named again
    with _statements() as sent:
        run = _run("flag-overdue")
    assert len(sent) == statements_for_100, "the statement count grew with the number of milestones"
    assert statements_for_100 <= 12  # with the lock and the run record
    assert len([s for s in sent if "milestones" in s]) <= 3  # the job's own work
    assert not any(sent_sql.count("?") + sent_sql.count("%(") > 80 for sent_sql in sent)  # no id lists
    assert run.details["flagged"] == 300 and run.details["flagged_milestones"] == first[:DETAIL_IDS]
    assert run.details["notifications"] == 2 and len(_notes("milestone.overdue")) == 4
    assert _notes("milestone.overdue")[-1].params["items"] == "300"
    overdue_days = dict(
        _db.session.execute(
            select(Milestone.id, Milestone.overdue_days).where(Milestone.id.in_(more[:1] + first[:1]))
        ).all()
    )
    assert overdue_days == {first[0]: 4, more[0]: 2}

    with _statements() as sent:  # the same local day again: nothing to do, no notification
        again = _run("flag-overdue")
    assert again.changed == 0 and again.details["notifications"] == 0 and len(sent) <= statements_for_100
    assert len(_notes("milestone.overdue")) == 4


def test_the_overdue_digest_names_every_overdue_milestone_of_each_contract(world, db):
    first, _org1, member1 = cf.contract_rows(
        world,
        milestones=[
            ("第三期 Third report", TODAY - timedelta(days=2), "100000.00"),
            ("第一期 First report", TODAY - timedelta(days=9), "100000.00"),
            ("第二期 Second report", TODAY - timedelta(days=5), "30000.00"),
            ("终期 Final", TODAY + timedelta(days=30), "50000.00"),
        ],
    )
    second, _org2, member2 = cf.contract_rows(
        world,
        milestones=[
            ("走访 Visits", TODAY - timedelta(days=1), "200000.00"),
            ("已验收 Accepted", TODAY - timedelta(days=20), "80000.00"),
        ],
    )
    second.milestones[1].status = "accepted"
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    run = _run("flag-overdue")
    assert run.details["flagged"] == 4 and run.details["notifications"] == 3

    by_user = {n.user_id: n for n in _notes("milestone.overdue")}
    assert set(by_user) == {world["officer"].id, member1.id, member2.id}
    officer = by_user[world["officer"].id]  # both contracts are the agency's: one digest
    assert (officer.params["items"], officer.params["contracts"]) == ("4", "2")
    assert (
        officer.params["earliest"] == (TODAY - timedelta(days=9)).isoformat() and officer.link == "/dashboard"
    )
    body = render(officer.body, officer.params)
    assert render(officer.subject, officer.params) == "4 milestone(s) overdue in 2 contract(s)"
    lines = officer.params["list"].split("\n")
    assert len(lines) == 2 and all(line in body for line in lines)
    # The contract with the earliest overdue milestone first; every overdue milestone named, in order.
    d = [(TODAY - timedelta(days=n)).isoformat() for n in (9, 5, 2, 1)]
    assert lines[0] == (
        f"{first.title} ({first.reference}): 第一期 First report ({d[0]}); 第二期 Second report ({d[1]}); "
        f"第三期 Third report ({d[2]})"
    )
    assert lines[1] == f"{second.title} ({second.reference}): 走访 Visits ({d[3]})"
    own = by_user[member1.id]  # each organization hears only of its own contract
    assert own.params["list"] == lines[0] and own.link == f"/contracts/{first.id}"
    assert by_user[member2.id].params["list"] == lines[1]

    again = _run("flag-overdue")  # idempotent: nothing new flagged or notified the same day
    assert again.changed == 0 and len(_notes("milestone.overdue")) == 3


def test_a_digest_names_the_first_contracts_and_counts_the_others(world, db, monkeypatch):
    monkeypatch.setattr(notices, "DIGEST_LINES", 1)
    contracts = [
        cf.contract_rows(world, milestones=[(f"报告{k}", TODAY - timedelta(days=k), "280000.00")])[0]
        for k in (1, 2, 3)
    ]
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    _run("flag-overdue")
    officer = next(n for n in _notes("milestone.overdue") if n.user_id == world["officer"].id)
    assert officer.params["contracts"] == "3" and officer.params["more"] == "2"
    assert officer.params["list"].startswith(f"{contracts[2].title} ({contracts[2].reference}): 报告3")
    assert "… and 2 more contract(s): see the dashboard." in render(officer.body, officer.params)


def test_send_reminders_records_counts_and_the_first_20_ids(world, db):
    contract, _org, member = cf.contract_rows(
        world, milestones=[("终期验收 Final acceptance", TODAY + timedelta(days=90), "280000.00")]
    )
    soon = _add_milestones(contract, 25, TODAY + timedelta(days=2))
    db.session.commit()
    clock.set_now(LOCAL_MIDNIGHT)
    run = _run("send-reminders")
    assert run.changed == 25
    assert run.details == {
        "reminded_milestones": soon[:DETAIL_IDS],
        "reminded_milestones_count": 25,
        "notifications": 1,  # one digest for the organization's member
    }
    notes = _notes("milestone.reminder")
    assert [n.user_id for n in notes] == [member.id]
    assert notes[0].params["items"] == "25" and notes[0].params["days"] == "7"
    assert notes[0].params["earliest"] == (TODAY + timedelta(days=2)).isoformat()
    assert render(notes[0].subject, notes[0].params) == "25 milestone(s) due within 7 day(s) in 1 contract(s)"
    assert _run("send-reminders").changed == 0 and len(_notes("milestone.reminder")) == 1


# --- contract-deadlines: the signing deadline computed once, in Python -------------------------------


def test_the_unsigned_cutoff_is_the_signing_deadline_rule(app, db):
    calendar = WorkingCalendar.load()
    # Around National Day (1-7 Oct, make-up working days on Sundays) and an ordinary month.
    for today in [date(2026, 9, 25) + timedelta(days=i) for i in range(40)]:
        cutoff = schedule.signing_deadline_passed_before(today, calendar)
        for back in range(20, 60):
            for hour in (0, 9, 23):  # local hours of the award notice
                published = start_of_local_day(today - timedelta(days=back)) + timedelta(hours=hour)
                past = today > signing.deadline_after(published, calendar)
                assert (published < cutoff) == past, (today, published)


def test_an_unsigned_contract_notice_gives_the_local_day_of_the_award(world, db):
    draft, _org, _member = cf.contract_rows(world, status="draft")
    award = db.session.get(Award, draft.award_id)
    award.published_at = datetime(2026, 8, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 Sep in Beijing
    db.session.commit()
    clock.set_now(start_of_local_day(signing.deadline_after(award.published_at) + timedelta(days=1)))
    run = _run("contract-deadlines")
    assert run.details["unsigned_flagged"] == [draft.id] and run.details["unsigned_flagged_count"] == 1
    notes = _notes("contract.unsigned")
    assert notes and (notes[0].params["days"], notes[0].params["earliest"]) == ("30", "2026-09-01")
    assert notes[0].params["list"] == f"{draft.title} ({draft.reference}): 2026-09-01"
    assert local_date(award.published_at).isoformat() == "2026-09-01"


def test_contracts_ending_soon_are_announced_in_one_digest_per_person(world, db):
    ending = [cf.contract_rows(world) for _ in range(2)]
    today = local_date(clock.now())
    for k, (contract, _org, _member) in enumerate(ending):
        contract.term_end = today + timedelta(days=10 + k)
    db.session.commit()
    run = _run("contract-deadlines")
    assert run.details["expiry_notified_count"] == 2 and run.details["notifications"] == 3
    notes = {n.user_id: n for n in _notes("contract.expiring")}
    officer = notes[world["officer"].id]
    assert (officer.params["items"], officer.params["contracts"], officer.link) == ("2", "2", "/contracts")
    assert officer.params["list"].split("\n") == [
        f"{c.title} ({c.reference}): {c.term_end.isoformat()}" for c, _o, _m in ending
    ]
    for contract, _org, member in ending:  # each organization hears only of its own
        assert (
            notes[member.id].params["contracts"] == "1"
            and notes[member.id].link == f"/contracts/{contract.id}"
        )
    assert _run("contract-deadlines").changed == 0 and len(_notes("contract.expiring")) == 3


# --- per-item jobs: due items a batch at a time, bounded run records ------------------------------------


def test_a_per_item_run_lists_at_most_20_keys_and_failures_with_their_counts(db, monkeypatch, caplog):
    db.session.commit()
    asked = []

    def due(now, after, limit):
        asked.append((after, limit))
        start = 0 if after is None else after
        keys = list(range(start + 1, min(start + limit, 45) + 1))
        return keys, (keys[-1] if len(keys) == limit else None)

    def run(now, key):
        if key % 2 == 0:
            raise RuntimeError(f"item {key} broke")
        return True

    job = registry.Job("many-items", run, "JOB_SLOW_INTERVAL", "x", due=due, label="done")
    monkeypatch.setitem(registry.JOBS, "many-items", job)
    monkeypatch.setattr(runner, "DUE_BATCH", 7)
    # Alembic's fileConfig (the session's migrations) disables loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger("marketplace.jobs"), "disabled", False)
    with caplog.at_level(logging.ERROR, logger="marketplace.jobs"):
        result = runner.run_job("many-items")
    assert asked == [(None, 7), (7, 7), (14, 7), (21, 7), (28, 7), (35, 7), (42, 7)]
    assert result.status == "error" and result.changed == 23
    details = result.details
    assert details["done"] == list(range(1, 41, 2)) and details["done_count"] == 23
    assert [f["item"] for f in details["failed"]] == list(range(2, 41, 2)) and details["failed_count"] == 22
    assert details["exception"] == "RuntimeError" and "item 2 broke" in result.error
    assert len([r for r in caplog.records if "failed on" in r.getMessage()]) == DETAIL_IDS


def test_finalize_awards_works_through_its_due_tenders_in_batches(world, db, monkeypatch):
    tenders = []
    for _ in range(3):
        tender, award, _org, _member = cf.final_award(world)
        award.status, award.final_at = "notice", None
        tenders.append((tender, award))
    db.session.commit()
    clock.set_now(max(a.challenge_deadline for _t, a in tenders) + timedelta(minutes=1))
    monkeypatch.setattr(runner, "DUE_BATCH", 1)
    with _statements() as sent:
        run = _run("finalize-awards")
    assert run.details == {"finalized": sorted(t.id for t, _a in tenders)} and run.changed == 3
    assert all(a.status == "final" for _t, a in tenders)
    listings = [s for s in sent if "FROM awards" in s and "DISTINCT" in s]
    assert len(listings) == 4 and all("LIMIT" in s for s in listings)  # 3 full batches, then an empty one


def test_time_limit_reminders_are_listed_a_batch_of_tenders_at_a_time(world, db, monkeypatch):
    first, _m1, _b1, _ = opened(world, date(2026, 3, 10))  # reports due Thu 12 Mar
    second, _m2, _b2, _ = opened(world, date(2026, 3, 10))
    db.session.commit()
    today = date(2026, 3, 11)
    keys, after = tracking.due_reminders(today, None, 1)
    assert [k.split(":")[0] for k in keys] == [str(first.id)] and after == first.id
    keys, after = tracking.due_reminders(today, after, 1)
    assert [k.split(":")[0] for k in keys] == [str(second.id)] and after == second.id
    assert tracking.due_reminders(today, after, 1) == ([], None)

    clock.set_now(at(today, 9))
    monkeypatch.setattr(runner, "DUE_BATCH", 1)
    run = _run("time-limit-reminders")
    assert sorted(int(k.split(":")[0]) for k in run.details["reminded"]) == [first.id, second.id]
    assert _run("time-limit-reminders").changed == 0


@pytest.mark.parametrize("name", sorted(name for name, job in registry.JOBS.items() if job.due is not None))
def test_every_per_item_job_lists_its_due_items_in_bounded_batches(app, db, name):
    job = registry.JOBS[name]
    with _statements() as sent:
        keys, after = job.due(clock.now(), None, 5)
    assert len(keys) <= 5 and after is None  # an empty database: one short batch, the last
    assert any("LIMIT" in s for s in sent)
