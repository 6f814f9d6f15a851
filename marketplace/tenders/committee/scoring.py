"""Price points, totals and ranking (综合评分法, O87 55-57; 最低评标价法). Pure functions on plain data.

- Evaluated price: the bid price, reduced by the small-organization deduction (C46) when the tender is not
  reserved for small organizations and the bidder declared itself small. The deduction is for scoring
  only; the contract price is the bid price.
- Benchmark (评标基准价) = the lowest evaluated price among valid bids.
- Price points = benchmark / evaluated price × price weight.
- Technical points = for each scored criterion, the mean of the members' points; summed. The highest and
  lowest member scores are not dropped.
- Total = price points + technical points. Ranking: total (high first); ties: lower bid price first
  (O87 57), then higher technical points.
- Lowest evaluated price method: rank by evaluated price (low first); ties: earlier submission... here
  lower bid price then bid id for a stable order.
- Abnormally low: an evaluated price below ``low_ratio`` × the mean evaluated price of the valid bids is
  flagged; it needs a recorded justification or it is invalid (O87 60). No price floor exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class BidFigures:
    bid_id: int
    price: Decimal
    small_org: bool = False
    # {criterion_id: [points from each member]}
    member_points: dict[int, list[Decimal]] = field(default_factory=dict)
    invalid: bool = False  # disqualified, or abnormally low without justification


@dataclass
class Result:
    bid_id: int
    price: Decimal
    evaluated_price: Decimal
    price_points: Decimal | None
    technical_points: Decimal | None
    total: Decimal | None
    rank: int | None
    abnormally_low: bool = False


def evaluated_price(bid: BidFigures, *, reserved_for_small: bool, small_deduction: Decimal) -> Decimal:
    if bid.small_org and not reserved_for_small:
        return q2(bid.price * (1 - small_deduction))
    return bid.price


def abnormally_low(prices: dict[int, Decimal], ratio: Decimal) -> set[int]:
    """Bids whose price is below ``ratio`` × the mean of all the given prices (needs ≥ 3 prices)."""
    if len(prices) < 3:
        return set()
    mean = sum(prices.values()) / len(prices)
    return {bid_id for bid_id, p in prices.items() if p < mean * ratio}


def compute(
    bids: list[BidFigures],
    *,
    method: str,
    price_weight: int,
    reserved_for_small: bool = False,
    small_deduction: Decimal = Decimal("0.10"),
) -> list[Result]:
    """Results for the valid bids, ranked; invalid bids come last with no rank."""
    valid = [b for b in bids if not b.invalid]
    evaluated = {
        b.bid_id: evaluated_price(b, reserved_for_small=reserved_for_small, small_deduction=small_deduction)
        for b in bids
    }
    results: list[Result] = []
    if method == "lowest_price":
        for b in valid:
            results.append(Result(b.bid_id, b.price, evaluated[b.bid_id], None, None, None, None))
        results.sort(key=lambda r: (r.evaluated_price, r.price, r.bid_id))
    else:
        benchmark = min((evaluated[b.bid_id] for b in valid), default=None)
        for b in valid:
            price_points = q2(benchmark / evaluated[b.bid_id] * price_weight)
            technical = q2(
                sum((sum(points) / len(points) for points in b.member_points.values() if points), Decimal(0))
            )
            results.append(
                Result(
                    b.bid_id,
                    b.price,
                    evaluated[b.bid_id],
                    price_points,
                    technical,
                    q2(price_points + technical),
                    None,
                )
            )
        results.sort(key=lambda r: (-r.total, r.price, -r.technical_points, r.bid_id))
    for rank, r in enumerate(results, start=1):
        r.rank = rank
    for b in bids:
        if b.invalid:
            results.append(Result(b.bid_id, b.price, evaluated[b.bid_id], None, None, None, None))
    return results
