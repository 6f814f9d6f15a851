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
from marketplace.contracts import schedule, signing
from marketplace.contracts.models import Milestone
from marketplace.core.calendar import WorkingCalendar
from marketplace.core.jobruns import DETAIL_IDS, JobRun
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
    recipients = {n.user_id for n in _notes("milestone.overdue")}
    assert {world["officer"].id, member.id} == recipients
    assert run.details == {
        "flagged": 100,
        "cleared": 0,
        "notified_milestones": first[:DETAIL_IDS],
        "notified_milestones_count": 100,
        "notifications": 100 * len(recipients),
    }
    assert run.changed == 200  # 100 flagged + 100 notified
    notes = _notes("milestone.overdue")
    assert {(n.params["n"], n.params["due"], n.params["title"], n.link) for n in notes} == {
        ("3", (TODAY - timedelta(days=3)).isoformat(), contract.title, f"/contracts/{contract.id}")
    }
    assert {n.params["deliverable"] for n in notes} == {f"月度服务报告 {i}" for i in range(1, 101)}

    more = _add_milestones(contract, 200, TODAY - timedelta(days=1))
    db.session.commit()
    clock.advance(timedelta(days=1))  # a new local day: all 300 are flagged and notified again
    with _statements() as sent:
        run = _run("flag-overdue")
    assert len(sent) == statements_for_100, "the statement count grew with the number of milestones"
    assert statements_for_100 <= 20  # with the lock, the run record and the test's savepoints
    assert len([s for s in sent if "milestones" in s]) <= 5  # the job's own work
    assert not any(sent_sql.count("?") + sent_sql.count("%(") > 50 for sent_sql in sent)  # no id lists
    assert run.details["flagged"] == 300 and run.details["notified_milestones_count"] == 300
    assert run.details["notified_milestones"] == first[:DETAIL_IDS]
    assert run.details["notifications"] == 300 * len(recipients)
    assert len(_notes("milestone.overdue")) == 400 * len(recipients)
    overdue_days = dict(
        _db.session.execute(
            select(Milestone.id, Milestone.overdue_days).where(Milestone.id.in_(more[:1] + first[:1]))
        ).all()
    )
    assert overdue_days == {first[0]: 4, more[0]: 2}

    with _statements() as sent:  # the same local day again: nothing to do, fewer statements still
        again = _run("flag-overdue")
    assert again.changed == 0 and len(sent) < statements_for_100


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
        "notifications": 25,
    }
    notes = _notes("milestone.reminder")
    assert {n.user_id for n in notes} == {member.id}
    assert notes[0].params["n"] == "2" and notes[0].params["due"] == (TODAY + timedelta(days=2)).isoformat()
    assert _run("send-reminders").changed == 0


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
    assert notes and notes[0].params == {"days": "30", "title": draft.title, "published": "2026-09-01"}
    assert local_date(award.published_at).isoformat() == "2026-09-01"


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
