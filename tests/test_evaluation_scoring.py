"""The arithmetic of performance evaluation, checked by hand, and the indicator templates."""

from decimal import Decimal

import pytest

from marketplace.core.errors import RuleViolation
from marketplace.performance import indicator_templates, indicators, scoring
from marketplace.performance.models import DEFAULT_BANDS
from marketplace.performance.outline import parse_outline

D = Decimal


@pytest.mark.parametrize(
    ("ratio", "share", "points_of_20"),
    [
        ("1.20", "1", "20.00"),
        ("1.00", "1", "20.00"),
        ("0.99", "0.6667", "13.33"),  # 20 × 0.6667 = 13.334
        ("0.80", "0.6667", "13.33"),
        ("0.79", "0.3333", "6.67"),  # 20 × 0.3333 = 6.666
        ("0.60", "0.3333", "6.67"),
        ("0.59", "0", "0.00"),
        ("0", "0", "0.00"),
    ],
)
def test_ratio_bands_at_their_boundaries(ratio, share, points_of_20):
    assert scoring.band_share(D(ratio), DEFAULT_BANDS) == D(share)
    assert scoring.ratio_points(D(ratio), D("20"), DEFAULT_BANDS) == D(points_of_20)


def test_edited_bands_apply_and_points_round_half_up():
    bands = [
        {"min_ratio": "0.90", "share": "1"},
        {"min_ratio": "0.50", "share": "0.5"},
        {"min_ratio": "0", "share": "0"},
    ]
    assert scoring.ratio_points(D("0.90"), D("15"), bands) == D("15.00")
    assert scoring.ratio_points(D("0.89"), D("15"), bands) == D("7.50")
    assert scoring.ratio_points(D("0.49"), D("15"), bands) == D("0.00")
    assert scoring.q2(D("2.345")) == D("2.35")  # half up, not to even
    assert scoring.survey_points(D("4.5"), D("10")) == D("9.00")
    assert scoring.survey_points(D("3.33"), D("10")) == D("6.66")


def test_ratio_is_rounded_down_so_it_never_climbs_into_a_band():
    assert scoring.q_ratio(D("0.79999")) == D("0.7999")
    assert scoring.band_share(scoring.q_ratio(D("0.79999")), DEFAULT_BANDS) == D("0.3333")


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "excellent"),
        ("90", "excellent"),
        ("89.99", "good"),
        ("80", "good"),
        ("79.99", "fair"),
        ("60", "fair"),
        ("59.99", "poor"),
        ("0", "poor"),
    ],
)
def test_grades(total, grade):
    assert scoring.grade(D(total)) == grade


def test_total_adds_and_rounds():
    assert scoring.total([D("13.33"), D("6.67"), D("0.005")]) == D("20.01")


def test_default_template_follows_domain_weights_and_is_created_once(db):
    t = indicator_templates.default_template()
    assert indicator_templates.default_template().id == t.id
    weights = [(g.name.split()[0], g.weight) for g in indicators.level_one(t)]
    assert [w for _n, w in weights] == [D("15"), D("20"), D("35"), D("20"), D("10")]
    assert indicators.total_weight(t) == D("100")
    for g in indicators.level_one(t):
        assert sum(leaf.weight for leaf in indicators.children(t, g)) == g.weight
    rules = {leaf.name.split()[0]: (leaf.rule, leaf.weight) for leaf in indicators.leaves(t)}
    assert rules["目标完成率"] == ("ratio", D("20"))
    assert rules["服务质量"] == ("manual", D("10"))
    assert rules["服务对象满意度"] == ("survey", D("10"))
    assert t.is_default and t.category is None


OUTLINE = """产出 | 60
- 目标完成率 | ratio | 40 | 1.00:1, 0.80:0.6667, 0.60:0.3333, 0:0
- 质量 | manual | 20
满意度 | 40
- 满意度 | survey | 40
"""


def test_outline_parses_and_validates():
    spec = indicators.validate(indicators.TemplateSpec("T", parse_outline(OUTLINE)))
    assert [g.weight for g in spec.groups] == [D("60"), D("40")]
    assert spec.groups[0].children[0].bands[1] == {"min_ratio": "0.80", "share": "0.6667"}


@pytest.mark.parametrize(
    ("outline", "message"),
    [
        (OUTLINE.replace("产出 | 60", "产出 | 55"), "add up to 60"),
        (
            OUTLINE.replace("| manual | 20", "| manual | 10").replace("产出 | 60", "产出"),
            "must add up to 100",
        ),
        (OUTLINE.replace("0.80:0.6667, 0.60:0.3333", "0.60:0.3333, 0.80:0.6667"), "highest minimum ratio"),
        (OUTLINE.replace("0.80:0.6667", "0.80:1.5"), "between 0 and 1"),
        (OUTLINE.replace(", 0:0", ""), "must start at 0"),
        (OUTLINE.replace("| manual |", "| guess |"), "manual, ratio or survey"),
        (OUTLINE.replace("| 20\n", "| abc\n"), "not a number"),
        ("- 孤儿 | manual | 100", "must follow a level-1"),
        ("产出 | 100", "has no level-2"),
    ],
)
def test_outline_errors_are_clear(outline, message):
    with pytest.raises(RuleViolation) as exc:
        indicators.validate(indicators.TemplateSpec("T", parse_outline(outline)))
    assert message in exc.value.message
