"""The arithmetic of a performance evaluation: ratio bands, leaf points, total and grade.

Pure functions on ``Decimal``; points are rounded half up to two places (0.005 → 0.01), the way the
score sheets are added up by hand.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from marketplace.core import rules

CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")  # Numeric(8, 4)

# Lower bounds of the grades (DOMAIN.md): 优 ≥ 90, 良 80-89, 中 60-79, 差 < 60.
GRADE_ORDER = ("excellent", "good", "fair")  # then poor; floors: PERFORMANCE_GRADE_FLOORS (core.rules)


def q2(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def q_ratio(value) -> Decimal:
    """A ratio kept to four places, rounded down so that 0.79996 never climbs into the 80 % band."""
    return Decimal(value).quantize(RATIO_PLACES, rounding=ROUND_DOWN)


def band_share(ratio, bands: list[dict]) -> Decimal:
    """The share of the maximum a ratio earns: the first band (highest ``min_ratio`` first) it reaches.

    ``bands`` are ``{"min_ratio": "0.80", "share": "0.6667"}``; a ratio below every band earns 0."""
    ratio = Decimal(ratio)
    for band in sorted(bands, key=lambda b: Decimal(str(b["min_ratio"])), reverse=True):
        if ratio >= Decimal(str(band["min_ratio"])):
            return Decimal(str(band["share"]))
    return Decimal("0")


def ratio_points(ratio, maximum, bands: list[dict]) -> Decimal:
    """Points of a ratio leaf: its maximum × the band's share, rounded half up to 0.01."""
    return q2(Decimal(maximum) * band_share(ratio, bands))


def survey_points(mean_answer, maximum) -> Decimal:
    """Points of the satisfaction leaf: the mean answer (1-5) / 5 × the maximum."""
    return q2(Decimal(mean_answer) / Decimal(5) * Decimal(maximum))


def total(points) -> Decimal:
    return q2(sum((Decimal(p) for p in points), Decimal("0")))


def grade(total_points) -> str:
    """excellent (优) ≥ 90, good (良) ≥ 80, fair (中) ≥ 60, poor (差) below (the floors are the
    ``PERFORMANCE_GRADE_FLOORS`` setting)."""
    value = Decimal(total_points)
    floors = rules.setting("PERFORMANCE_GRADE_FLOORS")
    for name in GRADE_ORDER:
        if value >= Decimal(str(floors[name])):
            return name
    return "poor"
