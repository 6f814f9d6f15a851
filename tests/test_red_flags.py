"""Red flags (issue 22): each indicator on a process that triggers it and a near miss that does not;
incremental recomputation; idempotence (docs/red-flags.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace import clock
from marketplace.extensions import db
from marketplace.redflags import indicators
from marketplace.redflags.compute import compute
from marketplace.redflags.models import RedFlag
from marketplace.tenders.committee.models import Qualification
from tests.redflag_factories import Scene

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def scene(world):
    clock.set_now(NOW)
    return Scene(world)


def flagged(code: str, full: bool = True) -> dict[int, dict]:
    compute(code, clock.now(), full=full)
    rows = db.session.execute(
        select(RedFlag.tender_id, RedFlag.figures).where(
            RedFlag.indicator == code, RedFlag.cleared_at.is_(None)
        )
    )
    return dict(rows.all())


def test_every_indicator_is_documented():
    doc = open("docs/red-flags.md", encoding="utf-8").read()
    for code in indicators.CODES:
        assert f"`{code}`" in doc, code


def test_single_bid(scene):
    one = scene.tender()
    scene.bids(one, [(scene.org(), "400000.00")], failed=True)
    one_qualified, bids, _award = scene.process()
    for q in db.session.scalars(
        select(Qualification).where(Qualification.bid_id.in_([bids[1].id, bids[2].id]))
    ):
        q.passed = False  # only the winner passed
    near, _bids, _award = scene.process()  # three bids, all qualified
    single_source = scene.tender(method="single_source")
    scene.bids(single_source, [(scene.org(), "400000.00")])
    hits = flagged("single_bid")
    assert hits[one.id]["bids"] == 1
    assert hits[one_qualified.id]["qualified_bids"] == 1
    assert near.id not in hits and single_source.id not in hits


def test_short_tender_period(scene):
    at_minimum = scene.tender(period_days=20)  # public tender: 20 calendar days
    near = scene.tender(period_days=21)
    hits = flagged("short_tender_period")
    assert at_minimum.id in hits and hits[at_minimum.id]["legal_minimum_days"] == 20
    assert near.id not in hits


def test_short_tender_period_against_the_district_median(scene):
    usual = [scene.tender(period_days=60) for _ in range(5)]
    short = scene.tender(period_days=40)  # above the minimum, under 75 % of the median (60)
    near = scene.tender(period_days=46)
    hits = flagged("short_tender_period")
    assert short.id in hits and hits[short.id]["median_days"] == 60.0
    assert near.id not in hits and not any(t.id in hits for t in usual)


def test_late_amendment(scene):
    from marketplace.tenders.models import Amendment

    late, near = scene.tender(), scene.tender()
    for t, days_before in ((late, 2), (near, 4)):
        db.session.add(
            Amendment(
                tender_id=t.id,
                number=1,
                reason="改",
                changes={},
                previous_deadline=t.bid_deadline,
                new_deadline=t.bid_deadline + timedelta(days=15),
                created_at=t.bid_deadline - timedelta(days=days_before),
                created_by_id=scene.officer.id,
            )
        )
    db.session.flush()
    hits = flagged("late_amendment")
    assert hits[late.id]["days_before_deadline"] == 2.0
    assert near.id not in hits


def test_winner_share(scene, world):
    favourite = scene.org()
    others = [scene.org() for _ in range(3)]
    start = NOW - timedelta(days=300)
    wins = []
    for i in range(3):
        t, _b, _a = scene.process(
            orgs=[favourite, others[i], others[(i + 1) % 3]], published=start + timedelta(days=30 * i)
        )
        wins.append(t)
    lost, _b, _a = scene.process(orgs=[others[0], favourite, others[1]], published=start + timedelta(days=10))
    # The same wins at another agency, spread so that no year holds three: a near miss.
    other = world["other_agency"]
    spread = []
    for i in range(3):
        t, _b, _a = scene.process(
            orgs=[favourite, others[i], others[(i + 1) % 3]],
            agency=other,
            published=start - timedelta(days=200 * i),
        )
        spread.append(t)
    hits = flagged("winner_share")
    assert wins[2].id in hits and hits[wins[2].id]["won_in_window"] == 3
    assert hits[wins[2].id]["agency_awards_in_window"] == 4
    assert wins[0].id not in hits  # only one award so far in its window
    assert lost.id not in hits and not any(t.id in hits for t in spread)


def test_price_near_ceiling(scene):
    close, _b, _a = scene.process(prices=("495500.00", "499000.00", "499900.00"))  # 99.1 % of 500,000
    near, _b, _a = scene.process(prices=("494000.00", "499000.00", "499900.00"))  # 98.8 %
    hits = flagged("price_near_ceiling")
    assert hits[close.id]["winning_price"] == "495500.00"
    assert near.id not in hits


def test_shared_contacts(scene):
    a, b = scene.org(rep="王五"), scene.org(rep="王五")
    c, d = scene.org(phone="010-6666 7777"), scene.org(phone="01066667777")
    same_rep, _b, _a = scene.process(orgs=[a, b, scene.org()])
    same_phone, _b, _a = scene.process(orgs=[c, d, scene.org()])
    near, _b, _a = scene.process(orgs=[a, c, scene.org()])  # each shares with someone, not with each other
    sealed = scene.tender()
    scene.bids(sealed, [(a, "400000.00"), (b, "410000.00")], failed=True)  # never opened: not read
    hits = flagged("shared_contacts")
    assert hits[same_rep.id]["same_legal_representative"] is True
    assert hits[same_phone.id]["same_phone"] is True
    assert near.id not in hits and sealed.id not in hits


def test_bid_rotation(scene):
    a, b, c = scene.org(), scene.org(), scene.org()
    together = [scene.process(orgs=[scene.org(), a, b])[0] for _ in range(3)]
    twice = [scene.process(orgs=[scene.org(), a, c])[0] for _ in range(2)]
    hits = flagged("bid_rotation")
    assert all(t.id in hits for t in together)
    assert hits[together[0].id]["lost_together"] == 3
    assert not any(t.id in hits for t in twice)


def test_losers_never_win(scene):
    loser, sometimes = scene.org(), scene.org()
    lost = [scene.process(orgs=[scene.org(), loser, sometimes])[0] for _ in range(4)]
    won, _b, _a = scene.process(orgs=[sometimes, loser, scene.org()])
    hits = flagged("losers_never_win")
    assert all(t.id in hits for t in lost + [won])
    assert hits[won.id]["bids_in_awarded_processes"] == 5
    assert all(hits[t.id].get("organization") == loser.id for t in lost)  # never the one that won once
    fewer = scene.org()
    four = [scene.process(orgs=[scene.org(), fewer, scene.org()])[0] for _ in range(4)]
    hits = flagged("losers_never_win")
    assert not any(t.id in hits for t in four)


def test_all_but_winner_disqualified(scene):
    t = scene.tender()
    bids = scene.bids(t, [(scene.org(), p) for p in ("400000.00", "410000.00", "420000.00")])
    scene.qualify(bids[0], True)
    scene.qualify(bids[1], False)
    scene.qualify(bids[2], False)
    scene.award(t, bids[0])
    near = scene.tender()
    nbids = scene.bids(near, [(scene.org(), p) for p in ("400000.00", "410000.00", "420000.00")])
    scene.qualify(nbids[0], True)
    scene.qualify(nbids[1], True)
    scene.qualify(nbids[2], False)
    scene.award(near, nbids[0])
    hits = flagged("all_but_winner_disqualified")
    assert hits[t.id] == {"bids_examined": 3, "disqualified": 2}
    assert near.id not in hits


def test_award_not_rank_1(scene):
    t = scene.tender()
    bids = scene.bids(t, [(scene.org(), p) for p in ("400000.00", "410000.00")])
    scene.award(t, bids[1], rank=2)
    near, _b, _a = scene.process()
    hits = flagged("award_not_rank_1")
    assert hits[t.id]["awarded_rank"] == 2
    assert near.id not in hits


def test_variation_near_cap(scene):
    t, _b, award = scene.process()
    scene.contract(t, award, original="400000.00", value="436000.00")  # +9 %: 90 % of the 10 % cap
    n, _b, naward = scene.process()
    scene.contract(n, naward, original="400000.00", value="435900.00")
    hits = flagged("variation_near_cap")
    assert hits[t.id]["value"] == "436000.00"
    assert n.id not in hits


def test_late_signature(scene):
    t, _b, award = scene.process()
    late = scene.contract(t, award, signed_days_after_award=31)
    n, _b, naward = scene.process()
    scene.contract(n, naward, signed_days_after_award=29)
    u, _b, uaward = scene.process()
    unsigned = scene.contract(u, uaward, signed_days_after_award=None)
    unsigned.unsigned_flagged_at = NOW
    db.session.flush()
    hits = flagged("late_signature")
    assert hits[t.id]["days_to_signature"] == 31.0
    assert u.id in hits
    assert n.id not in hits
    flag = db.session.scalar(
        select(RedFlag).where(RedFlag.tender_id == t.id, RedFlag.indicator == "late_signature")
    )
    assert flag.contract_id == late.id


def test_acceptance_without_evidence(scene):
    t, _b, award = scene.process()
    c = scene.contract(t, award)
    scene.milestone(c)
    with_docs, _b, a2 = scene.process()
    scene.milestone(scene.contract(with_docs, a2), document=True)
    with_records, _b, a3 = scene.process()
    c3 = scene.contract(with_records, a3)
    scene.milestone(c3)
    scene.service_record(c3, date(2026, 5, 1))
    hits = flagged("acceptance_without_evidence")
    assert t.id in hits and hits[t.id]["deliverable"]
    assert with_docs.id not in hits and with_records.id not in hits


def test_payment_before_acceptance(scene):
    t, _b, award = scene.process()
    c = scene.contract(t, award)
    scene.payment(c, scene.milestone(c, accepted_on=date(2026, 6, 30), document=True), date(2026, 6, 1))
    unaccepted, _b, a2 = scene.process()
    c2 = scene.contract(unaccepted, a2)
    scene.payment(c2, scene.milestone(c2, accepted_on=None), date(2026, 6, 1))
    near, _b, a3 = scene.process()
    c3 = scene.contract(near, a3)
    scene.payment(c3, scene.milestone(c3, accepted_on=date(2026, 6, 30), document=True), date(2026, 6, 30))
    hits = flagged("payment_before_acceptance")
    assert hits[t.id]["paid_on"] == "2026-06-01" and hits[t.id]["accepted_on"] == "2026-06-30"
    assert hits[unaccepted.id]["milestone_status"] == "pending"
    assert near.id not in hits


def test_poor_grade_after_acceptance(scene):
    t, _b, award = scene.process()
    c = scene.contract(t, award)
    scene.acceptance(c, "passed")
    scene.ex_post(c, "poor")
    fair, _b, a2 = scene.process()
    c2 = scene.contract(fair, a2)
    scene.acceptance(c2, "passed")
    scene.ex_post(c2, "fair")
    failed, _b, a3 = scene.process()
    c3 = scene.contract(failed, a3)
    scene.acceptance(c3, "failed")
    scene.ex_post(c3, "poor")
    hits = flagged("poor_grade_after_acceptance")
    assert hits[t.id]["grade"] == "poor"
    assert fair.id not in hits and failed.id not in hits


# --- computation: idempotent, incremental, cleared flags kept ------------------------------------


def test_a_second_run_changes_nothing(scene):
    scene.tender(period_days=20)
    assert compute("short_tender_period", clock.now(), full=True)["changed"] == 1
    assert compute("short_tender_period", clock.now(), full=True) == {"changed": 0}
    assert compute("short_tender_period", clock.now()) == {"changed": 0}


def test_incremental_run_sees_only_changed_processes_and_clears_vanished_flags(scene):
    t = scene.tender(period_days=20)
    clock.set_now(NOW + timedelta(hours=1))
    compute("short_tender_period", clock.now(), full=True)
    clock.set_now(NOW + timedelta(hours=2))
    other = scene.tender(period_days=20, category="childcare")  # new since the run, out of t's reach
    # An edit the incremental run must not see: written "before" the watermark, behind its back.
    db.session.execute(
        RedFlag.__table__.update().where(RedFlag.tender_id == t.id).values(figures={"stale": True})
    )
    result = compute("short_tender_period", clock.now())
    assert result["changed"] == 1 and result["short_tender_period"]["processes"] == 1
    assert other.id in flagged("short_tender_period", full=False)
    # The tender's period is lengthened: the next incremental run clears its flag and keeps the row.
    clock.set_now(NOW + timedelta(hours=4))
    t.bid_deadline = t.published_at + timedelta(days=40)
    db.session.flush()
    compute("short_tender_period", clock.now())
    flag = db.session.scalar(select(RedFlag).where(RedFlag.tender_id == t.id))
    assert flag.cleared_at == clock.now()
    assert flag.figures == {"stale": True}  # untouched figures: the row is kept as it was


def test_the_job_runs_every_indicator_and_commits_each(scene, app):
    from marketplace.jobs.runner import run_job

    scene.tender(period_days=20)
    run = run_job("red-flags-full")
    assert run.status == "ok", run.error
    assert run.details["short_tender_period"]["new"] == 1
    assert run_job("red-flags").changed == 0


def test_cli_compute(scene, app):
    scene.tender(period_days=20)
    result = app.test_cli_runner().invoke(args=["redflags", "compute", "--full"])
    assert result.exit_code == 0, result.output
    assert "red-flags-full: ok" in result.output
    assert db.session.scalar(select(RedFlag.indicator)) == "short_tender_period"


def test_the_demo_cases_trigger_every_indicator(world):
    from marketplace.demo.redflags import load_red_flag_cases
    from tests import bid_factories as bf

    clock.set_now(NOW)
    bidders = [bf.organization(f"演示红旗机构{i}")[0] for i in range(7)]
    for i, org in enumerate(bidders):
        org.legal_representative, org.phone = f"代表{i}", f"010-5555000{i}"
    experts = [world["evaluator"]] * 3
    load_red_flag_cases({"officer@example.org": world["officer"]}, world["agency"], bidders, experts, NOW)
    found = set(db.session.scalars(select(RedFlag.indicator).where(RedFlag.cleared_at.is_(None))))
    assert found == set(indicators.CODES)
