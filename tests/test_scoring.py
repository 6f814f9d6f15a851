"""Hand-checked price points, totals and rankings (O87 55-57; C46; O87 60)."""

from decimal import Decimal as D

from marketplace.tenders.committee import scoring
from marketplace.tenders.committee.scoring import BidFigures


def _by_id(results):
    return {r.bid_id: r for r in results}


def test_comprehensive_scoring_hand_checked():
    # price weight 30; criteria A (max 40) and B (max 30); three members.
    bids = [
        BidFigures(1, D("100000"), member_points={1: [D(36), D(38), D(34)], 2: [D(27), D(24), D(27)]}),
        BidFigures(2, D("80000"), member_points={1: [D(30), D(32), D(28)], 2: [D(20), D(22), D(24)]}),
        BidFigures(3, D("90000"), member_points={1: [D(35), D(35), D(35)], 2: [D(25), D(26), D(27)]}),
    ]
    r = _by_id(scoring.compute(bids, method="comprehensive_scoring", price_weight=30))
    # Benchmark = 80000. Price points: 80000/100000*30 = 24; 30; 80000/90000*30 = 26.666… → 26.67.
    assert (r[1].price_points, r[2].price_points, r[3].price_points) == (D("24.00"), D("30.00"), D("26.67"))
    # Technical = mean per criterion, summed (no dropping of extremes): 36+26, 30+22, 35+26.
    assert (r[1].technical_points, r[2].technical_points, r[3].technical_points) == (
        D("62.00"),
        D("52.00"),
        D("61.00"),
    )
    assert (r[1].total, r[2].total, r[3].total) == (D("86.00"), D("82.00"), D("87.67"))
    assert (r[3].rank, r[1].rank, r[2].rank) == (1, 2, 3)


def test_tie_goes_to_the_lower_price():
    # weight 50: x 100 → 50 + 40 = 90; y 125 → 100/125*50 = 40 + 50 = 90.
    bids = [
        BidFigures(7, D("125"), member_points={1: [D(50)]}),
        BidFigures(8, D("100"), member_points={1: [D(40)]}),
    ]
    r = scoring.compute(bids, method="comprehensive_scoring", price_weight=50)
    assert [x.total for x in r] == [D("90.00"), D("90.00")]
    assert [x.bid_id for x in r] == [8, 7]


def test_tie_on_total_and_price_goes_to_more_technical_points():
    # Same bid price 100; p is small (evaluated 90): p = 50 + 40; q = 90/100*50 = 45 + 45.
    bids = [
        BidFigures(1, D("100"), small_org=True, member_points={1: [D(40)]}),
        BidFigures(2, D("100"), member_points={1: [D(45)]}),
    ]
    r = scoring.compute(bids, method="comprehensive_scoring", price_weight=50, small_deduction=D("0.10"))
    assert [x.total for x in r] == [D("90.00"), D("90.00")]
    assert [x.bid_id for x in r] == [2, 1]


def test_small_organization_deduction_for_scoring_only():
    bids = [
        BidFigures(1, D("100000"), small_org=True, member_points={1: [D(50)]}),
        BidFigures(2, D("95000"), member_points={1: [D(50)]}),
    ]
    r = _by_id(
        scoring.compute(bids, method="comprehensive_scoring", price_weight=30, small_deduction=D("0.10"))
    )
    assert r[1].evaluated_price == D("90000.00") and r[1].price == D("100000")  # the bid price is unchanged
    assert (r[1].price_points, r[2].price_points) == (D("30.00"), D("28.42"))  # 90000/95000*30 = 28.421…
    # 20 % deduction: evaluated 80000.
    r = _by_id(
        scoring.compute(bids, method="comprehensive_scoring", price_weight=30, small_deduction=D("0.20"))
    )
    assert r[1].evaluated_price == D("80000.00") and r[2].price_points == D("25.26")  # 80000/95000*30
    # Reserved tenders: every bidder is small, no deduction.
    r = _by_id(
        scoring.compute(bids, method="comprehensive_scoring", price_weight=30, reserved_for_small=True)
    )
    assert (r[1].price_points, r[2].price_points) == (D("28.50"), D("30.00"))


def test_disqualified_bid_is_not_the_benchmark_and_not_ranked():
    bids = [
        BidFigures(1, D("50000"), invalid=True, member_points={1: [D(60)]}),
        BidFigures(2, D("80000"), member_points={1: [D(50)]}),
        BidFigures(3, D("100000"), member_points={1: [D(60)]}),
    ]
    r = _by_id(scoring.compute(bids, method="comprehensive_scoring", price_weight=40))
    assert r[2].price_points == D("40.00") and r[3].price_points == D("32.00")  # benchmark 80000, not 50000
    assert r[1].rank is None and r[1].total is None
    assert (r[2].total, r[3].total, r[3].rank, r[2].rank) == (D("90.00"), D("92.00"), 1, 2)


def test_lowest_evaluated_price_method():
    bids = [BidFigures(1, D("300")), BidFigures(2, D("250"), small_org=True), BidFigures(3, D("240"))]
    r = scoring.compute(bids, method="lowest_price", price_weight=100, small_deduction=D("0.10"))
    assert [(x.bid_id, x.evaluated_price, x.rank) for x in r] == [
        (2, D("225.00"), 1),
        (3, D("240"), 2),
        (1, D("300"), 3),
    ]
    assert all(x.total is None for x in r)


def test_abnormally_low_prices():
    prices = {1: D("100"), 2: D("100"), 3: D("100"), 4: D("60")}
    assert scoring.abnormally_low(prices, D("0.8")) == {4}  # mean 90; 72 is the line
    assert (
        scoring.abnormally_low({1: D("100"), 2: D("10")}, D("0.8")) == set()
    )  # fewer than 3 prices: no mean
