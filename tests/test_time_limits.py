"""Statutory time limits (docs/rules.md): due days worked out by hand on the 2026 calendar, states at
and one day past each limit, the reminder sent once, the late signature's reason, the dashboard flag."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import clock
from marketplace.audit.models import AuditEvent
from marketplace.contracts import signing
from marketplace.core.errors import RuleViolation
from marketplace.core.notifications import Notification
from marketplace.core.timeutil import start_of_local_day
from marketplace.extensions import db as _db
from marketplace.jobs import runner
from marketplace.tenders.committee.awards import confirm_award
from marketplace.tenders.committee.challenges import answer_challenge, file_challenge
from marketplace.tenders.committee.ranking import conclude, sign_off
from marketplace.timelimits import limits as tl
from marketplace.timelimits.models import TimeLimitReminder
from tests import contract_factories as cf

_n = iter(range(1, 100_000))


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """``hour:minute`` local time (Asia/Shanghai) on ``day``."""
    return start_of_local_day(day) + timedelta(hours=hour, minutes=minute)


def opened(world, opening_day: date):
    """A tender whose bids were opened at 09:00 on ``opening_day``, scored by its committee but not yet
    concluded. Returns (tender, members, bids, bidders)."""
    deadline = at(opening_day, 9)
    clock.set_now(deadline - timedelta(days=30))
    return cf.scored_tender(world, deadline, opened_at=deadline)


def report(tender, members, moment: datetime, officer):
    """The ranking computed and every member's signature on the report at ``moment``."""
    clock.set_now(moment)
    ranking = conclude(tender, officer)
    for m in members:
        sign_off(m, m.user)
    return ranking


def award(tender, ranking, bids, moment: datetime, officer):
    clock.set_now(moment)
    first = next(r for r in ranking if r.rank == 1)
    return confirm_award(tender, next(b for b in bids if b.id == first.bid_id), "", officer)


def limit(tender, code: str, today: date, subject_id: int = 0) -> tl.TimeLimit:
    return next(t for t in tl.time_limits(tender, today) if t.code == code and t.subject_id == subject_id)


# --- the due days, worked out by hand -------------------------------------------------------------


def test_report_limit_at_the_limit_and_one_day_past(world, db):
    # Opened Tue 10 Mar 2026; 2 working days, the start day excluded: Wed 11, Thu 12.
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    assert [t.code for t in tl.time_limits(tender, date(2026, 3, 10))] == [tl.REPORT]
    assert limit(tender, tl.REPORT, date(2026, 3, 12)).due == date(2026, 3, 12)
    assert limit(tender, tl.REPORT, date(2026, 3, 12)).state == tl.OPEN
    assert limit(tender, tl.REPORT, date(2026, 3, 13)).state == tl.OVERDUE
    # Signed by every member in the last hour of the due day: met; the decision is counted from it.
    report(tender, members, at(date(2026, 3, 12), 23, 30), world["officer"])
    assert limit(tender, tl.REPORT, date(2026, 3, 20)).state == tl.MET
    decision = limit(tender, tl.DECISION, date(2026, 3, 19))
    assert decision.due == date(2026, 3, 19) and decision.state == tl.OPEN  # Fri 13, Mon 16 … Thu 19
    assert limit(tender, tl.DECISION, date(2026, 3, 20)).state == tl.OVERDUE
    # The last signature just after midnight: the report came one day late.
    members[-1].signed_off_at = at(date(2026, 3, 13), 0, 30)
    assert limit(tender, tl.REPORT, date(2026, 3, 20)).state == tl.LATE


def test_limits_straddling_national_day(world, db):
    # Opened Wed 30 Sep 2026; 1-7 Oct are holidays: the report is due Thu 8 (1), Fri 9 Oct (2).
    tender, members, bids, _ = opened(world, date(2026, 9, 30))
    assert limit(tender, tl.REPORT, date(2026, 10, 9)).due == date(2026, 10, 9)
    assert limit(tender, tl.REPORT, date(2026, 10, 9)).state == tl.OPEN
    assert limit(tender, tl.REPORT, date(2026, 10, 10)).state == tl.OVERDUE
    ranking = report(tender, members, at(date(2026, 10, 9), 17), world["officer"])
    # 5 working days from Fri 9 Oct: Sat 10 (make-up working day), Mon 12, Tue 13, Wed 14, Thu 15.
    assert limit(tender, tl.DECISION, date(2026, 10, 15)).due == date(2026, 10, 15)
    award(tender, ranking, bids, at(date(2026, 10, 15), 17), world["officer"])
    assert limit(tender, tl.DECISION, date(2026, 10, 16)).state == tl.MET
    notice = limit(tender, tl.NOTICE, date(2026, 10, 16))
    assert notice.due == date(2026, 10, 19) and notice.state == tl.MET  # published with the decision
    # 30 days after Thu 15 Oct is Sat 14 Nov: the signature is due Mon 16 Nov; no contract drafted yet.
    signature = limit(tender, tl.SIGNATURE, date(2026, 11, 16))
    assert signature.due == date(2026, 11, 16) and signature.state == tl.OPEN
    assert signature.detail == tl.NOT_DRAFTED
    assert limit(tender, tl.SIGNATURE, date(2026, 11, 17)).state == tl.OVERDUE


def test_limits_straddling_spring_festival(world, db):
    # Opened Thu 12 Feb 2026: Fri 13 (1), Sat 14 Feb is a make-up working day (2); 15-23 Feb are holidays.
    tender, members, bids, _ = opened(world, date(2026, 2, 12))
    assert limit(tender, tl.REPORT, date(2026, 2, 14)).due == date(2026, 2, 14)
    assert limit(tender, tl.REPORT, date(2026, 2, 14)).state == tl.OPEN
    assert limit(tender, tl.REPORT, date(2026, 2, 15)).state == tl.OVERDUE
    report(tender, members, at(date(2026, 2, 14), 16), world["officer"])
    # Tue 24 (1), 25, 26, Fri 27 (4), Sat 28 Feb, a make-up working day (5).
    decision = limit(tender, tl.DECISION, date(2026, 2, 28))
    assert decision.due == date(2026, 2, 28) and decision.state == tl.OPEN
    assert limit(tender, tl.DECISION, date(2026, 3, 1)).state == tl.OVERDUE


def test_challenge_answer_straddling_national_day(world, db):
    tender, members, bids, bidders = opened(world, date(2026, 9, 22))
    ranking = report(tender, members, at(date(2026, 9, 22), 15), world["officer"])
    the_award = award(tender, ranking, bids, at(date(2026, 9, 22), 16), world["officer"])
    loser_org, loser = next((o, m) for o, m in bidders if o.id != the_award.bid.organization_id)
    clock.set_now(at(date(2026, 9, 29), 10))
    ch = file_challenge(the_award, "评分有误 The scores are wrong", [], loser)
    # 7 working days from Tue 29 Sep: Wed 30 (1), Thu 8 Oct (2), Fri 9 (3), Sat 10 (make-up, 4),
    # Mon 12 (5), Tue 13 (6), Wed 14 Oct (7).
    answer = limit(tender, tl.CHALLENGE, date(2026, 10, 14), subject_id=ch.id)
    assert answer.due == date(2026, 10, 14) and answer.state == tl.OPEN and answer.source == "GPL 53"
    assert limit(tender, tl.CHALLENGE, date(2026, 10, 15), subject_id=ch.id).state == tl.OVERDUE
    clock.set_now(at(date(2026, 10, 14), 18))
    answer_challenge(ch, False, "评分无误 The scores stand", None, world["officer"])
    assert limit(tender, tl.CHALLENGE, date(2026, 10, 20), subject_id=ch.id).state == tl.MET


def test_signing_deadline_moves_off_holidays_and_weekends(world, db):
    assert signing.deadline_after(at(date(2026, 9, 2))) == date(2026, 10, 8)  # 2 Oct: National Day
    assert signing.deadline_after(at(date(2026, 9, 10))) == date(2026, 10, 10)  # a make-up Saturday
    assert signing.deadline_after(at(date(2026, 3, 10))) == date(2026, 4, 9)  # an ordinary Thursday


def test_limit_numbers_come_from_the_configuration(app, world, db):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    app.config["COMMITTEE_REPORT_WORKING_DAYS"] = 3
    try:
        assert limit(tender, tl.REPORT, date(2026, 3, 13)).due == date(2026, 3, 13)
    finally:
        app.config["COMMITTEE_REPORT_WORKING_DAYS"] = 2


def test_a_failed_tender_keeps_no_pending_limit(world, db):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    tender.status = "failed"
    assert tl.time_limits(tender, date(2026, 3, 20)) == []


# --- the reminder, once ---------------------------------------------------------------------------


def _reminders(tender) -> int:
    return _db.session.scalar(
        select(func.count()).select_from(TimeLimitReminder).where(TimeLimitReminder.tender_id == tender.id)
    )


def _notes(kind: str, user) -> list[Notification]:
    return list(
        _db.session.scalars(
            select(Notification).where(Notification.kind == kind, Notification.user_id == user.id)
        )
    )


def test_the_reminder_is_sent_once_one_working_day_before(world, db):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))  # report due Thu 12 Mar
    _db.session.commit()
    clock.set_now(at(date(2026, 3, 10), 12))  # two working days before: not yet
    run = runner.run_job("time-limit-reminders")
    assert run.status == "ok" and _reminders(tender) == 0
    clock.set_now(at(date(2026, 3, 11), 9))  # one working day before
    run = runner.run_job("time-limit-reminders")
    assert run.status == "ok", run.error
    assert run.details["reminded"] == [f"{tender.id}:{tl.REPORT}:0:2026-03-12"]
    notes = _notes("time_limit.committee_report", world["officer"])
    assert len(notes) == 1 and notes[0].params["due"] == "2026-03-12"
    assert _notes("time_limit.committee_report", world["other_officer"]) == []
    clock.set_now(at(date(2026, 3, 12), 9))  # due today, still open: already reminded
    assert runner.run_job("time-limit-reminders").changed == 0
    assert _reminders(tender) == 1 and len(_notes("time_limit.committee_report", world["officer"])) == 1


def test_a_met_limit_is_not_reminded(world, db):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    report(tender, members, at(date(2026, 3, 10), 15), world["officer"])
    _db.session.commit()
    clock.set_now(at(date(2026, 3, 11), 9))
    runner.run_job("time-limit-reminders")
    assert _notes("time_limit.committee_report", world["officer"]) == []


# --- the late signature ---------------------------------------------------------------------------


@pytest.fixture
def draft_contract(world, db):
    contract, org, member = cf.contract_rows(world, status="draft")
    # The award notice was published Tue 15 Sep 2026: the signing deadline is Thu 15 Oct.
    assert signing.signing_deadline(contract) == date(2026, 10, 15)
    return contract, member


def test_a_signature_on_the_last_day_needs_no_reason(draft_contract, world):
    contract, member = draft_contract
    clock.set_now(at(date(2026, 10, 15), 23, 50))
    signing.sign(contract, world["officer"])
    assert contract.late_signature_reason is None


def test_a_late_signature_needs_a_reason_which_is_kept(draft_contract, world, client, login_as):
    contract, member = draft_contract
    clock.set_now(at(date(2026, 10, 16), 0, 10))
    with pytest.raises(RuleViolation, match="reason") as exc:
        signing.sign(contract, world["officer"])
    assert exc.value.field == "late_reason" and contract.officer_signed_at is None
    with pytest.raises(RuleViolation):
        signing.sign(contract, world["officer"], "   ")
    signing.sign(contract, world["officer"], "预算批复延迟 Budget approval was late")
    assert contract.late_signature_reason == "预算批复延迟 Budget approval was late"
    event = _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contract.sign").order_by(AuditEvent.id.desc())
    ).first()
    assert event.changes == {"late_reason": "预算批复延迟 Budget approval was late"}
    with pytest.raises(RuleViolation, match="reason"):  # the other side is late too
        signing.sign(contract, member)
    signing.sign(contract, member, "Board meeting postponed")
    assert contract.is_active
    assert contract.late_signature_reason.splitlines() == [
        "预算批复延迟 Budget approval was late",
        "Board meeting postponed",
    ]
    _db.session.commit()
    login_as("officer")
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="late-signature-reason"' in page and "Board meeting postponed" in page


def test_the_sign_form_refuses_a_late_signature_without_reason(draft_contract, world, client, login_as):
    contract, member = draft_contract
    _db.session.commit()
    clock.set_now(at(date(2026, 10, 20)))
    login_as("officer")
    page = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'name="late_reason"' in page
    r = client.post(f"/contracts/{contract.id}/sign", data={}, follow_redirects=True)
    assert r.status_code == 200 and "give the reason for the late signature" in r.get_data(as_text=True)
    _db.session.expire_all()
    assert contract.officer_signed_at is None
    client.post(f"/contracts/{contract.id}/sign", data={"late_reason": "Waited for the budget"})
    _db.session.expire_all()
    assert (
        contract.officer_signed_at is not None and contract.late_signature_reason == "Waited for the budget"
    )


# --- the dashboard flag ---------------------------------------------------------------------------


def test_an_award_never_drafted_is_flagged_on_the_dashboard(world, db, client, login_as):
    tender, the_award, _org, _member = cf.final_award(world)
    _db.session.commit()
    clock.set_now(at(date(2026, 10, 15), 12))  # the last day: due soon
    login_as("officer")
    page = client.get("/dashboard/officer").get_data(as_text=True)
    assert f'data-tender-id="{tender.id}" data-limit="contract_signature" data-state="open"' in page
    clock.set_now(at(date(2026, 10, 16), 12))
    page = client.get("/dashboard/officer").get_data(as_text=True)
    assert f'data-tender-id="{tender.id}" data-limit="contract_signature" data-state="overdue"' in page
    assert "no contract drafted yet" in page
    login_as("other_officer")
    assert f'data-tender-id="{tender.id}"' not in client.get("/dashboard/officer").get_data(as_text=True)


def test_the_time_limits_page_of_a_tender(world, db, client, login_as):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    report(tender, members, at(date(2026, 3, 13), 9), world["officer"])  # one day late
    _db.session.commit()
    clock.set_now(at(date(2026, 3, 16)))
    login_as("officer")
    assert f"/time-limits/tenders/{tender.id}" in client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    page = client.get(f"/time-limits/tenders/{tender.id}").get_data(as_text=True)
    assert 'data-limit="committee_report" data-state="late"' in page
    assert 'data-limit="award_decision" data-state="open"' in page
    login_as("auditor")
    assert client.get(f"/time-limits/tenders/{tender.id}").status_code == 200
    login_as("other_officer")
    assert client.get(f"/time-limits/tenders/{tender.id}").status_code == 403


def test_the_unsigned_contract_job_waits_for_the_moved_deadline(world, db):
    contract, _org, _member = cf.contract_rows(world, status="draft")
    contract.award.published_at = at(date(2026, 9, 2))  # + 30 days = Fri 2 Oct, National Day: Thu 8 Oct
    _db.session.commit()
    clock.set_now(at(date(2026, 10, 8), 23))
    assert not signing.unsigned_overdue(contract)
    assert runner.run_job("contract-deadlines").details["unsigned_flagged"] == []
    clock.set_now(at(date(2026, 10, 9), 9))
    assert signing.unsigned_overdue(contract)
    assert runner.run_job("contract-deadlines").details["unsigned_flagged"] == [contract.id]


def test_a_limit_met_late_stays_flagged_while_the_procurement_is_in_progress(world, db, client, login_as):
    tender, members, bids, _ = opened(world, date(2026, 3, 10))
    report(tender, members, at(date(2026, 3, 13), 9), world["officer"])  # due Thu 12 Mar
    _db.session.commit()
    clock.set_now(at(date(2026, 3, 16)))
    login_as("officer")
    page = client.get("/dashboard/officer").get_data(as_text=True)
    assert f'data-tender-id="{tender.id}" data-limit="committee_report" data-state="late"' in page
    assert f'data-tender-id="{tender.id}" data-limit="award_decision"' not in page  # due 19 Mar: not soon
