"""Indicator systems (指标体系): the shape of a template, its checks, and reads.

A template is a tree: level-1 indicators whose weight is the sum of their level-2 leaves, and leaves
whose weight is their maximum points; the level-1 weights sum to 100. Templates are written as specs
(:class:`TemplateSpec`), from the outline text (:mod:`marketplace.performance.outline`) or from an
existing template, checked by :func:`validate`, and saved by the verbs in
:mod:`marketplace.performance.indicator_templates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, select

from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import parse_decimal
from marketplace.extensions import db
from marketplace.performance.models import DEFAULT_BANDS, RULES, Evaluation, Indicator, IndicatorTemplate

TOTAL_WEIGHT = Decimal("100")
NAME_MAX = 200
DESCRIPTION_MAX = 2000
MAX_INDICATORS = 60
WEIGHT_MAX = Decimal("100")
RATIO_MAX = Decimal("10")


@dataclass
class LeafSpec:
    name: str
    weight: Decimal
    rule: str = "manual"
    bands: list[dict] = field(default_factory=list)
    description: str = ""


@dataclass
class GroupSpec:
    name: str
    children: list[LeafSpec]
    weight: Decimal | None = None  # when given, checked against the children's sum
    description: str = ""


@dataclass
class TemplateSpec:
    name: str
    groups: list[GroupSpec]


# --- validation -----------------------------------------------------------------------------------


def _band_rows(bands, prefix: str) -> list[tuple[Decimal, Decimal]]:
    """``(min_ratio, share)`` pairs, each a finite number in range."""
    rows = []
    for b in bands:
        if not isinstance(b, Mapping) or "min_ratio" not in b or "share" not in b:
            raise RuleViolation(
                prefix + _("Write each band as minimum ratio:share, e.g. 0.80:0.6667."), field="outline"
            )
        rows.append((parse_decimal(b["min_ratio"]), parse_decimal(b["share"])))
    for ratio, share in rows:
        if ratio is None or share is None:
            raise RuleViolation(prefix + _("Band values must be numbers."), field="outline")
        if not Decimal("0") <= share <= Decimal("1"):
            raise RuleViolation(prefix + _("A band's share must be between 0 and 1."), field="outline")
        if not Decimal("0") <= ratio <= RATIO_MAX:
            raise RuleViolation(
                prefix + _("A band's minimum ratio must be between 0 and 10."), field="outline"
            )
    return rows


def check_bands(bands, where: str = "") -> list[dict]:
    """Bands as stored: strictly descending ``min_ratio`` ending at 0, shares between 0 and 1 that never
    rise as the ratio falls."""
    prefix = f"{where}: " if where else ""
    if not bands:
        raise RuleViolation(prefix + _("A ratio indicator needs at least one band."), field="outline")
    rows = _band_rows(bands, prefix)
    for (r1, s1), (r2, s2) in zip(rows, rows[1:], strict=False):
        if r2 >= r1:
            raise RuleViolation(
                prefix
                + _("List the bands from the highest minimum ratio down, each lower than the one before."),
                field="outline",
            )
        if s2 > s1:
            raise RuleViolation(prefix + _("A lower band cannot earn a larger share."), field="outline")
    if rows[-1][0] != 0:
        raise RuleViolation(
            prefix + _("The last band must start at 0 so that every ratio falls in a band."), field="outline"
        )
    return [{"min_ratio": str(r), "share": str(s)} for r, s in rows]


def _check_indicator_name(name: str) -> None:
    if not name.strip() or len(name) > NAME_MAX:
        raise RuleViolation(_("Every indicator needs a name of at most 200 characters."), field="outline")


def _check_leaf(leaf: LeafSpec) -> None:
    """Name, rule, maximum points (two decimals at most) and, for a ratio rule, its bands."""
    _check_indicator_name(leaf.name)
    if leaf.rule not in RULES:
        raise RuleViolation(
            _("“%(name)s”: the rule must be manual, ratio or survey.", name=leaf.name), field="outline"
        )
    if not (leaf.weight.is_finite() and Decimal("0") < leaf.weight <= WEIGHT_MAX):
        raise RuleViolation(
            _("“%(name)s”: the maximum points must be more than 0 and at most 100.", name=leaf.name),
            field="outline",
        )
    if leaf.weight != leaf.weight.quantize(Decimal("0.01")):
        raise RuleViolation(
            _("“%(name)s”: points can have at most two decimals.", name=leaf.name), field="outline"
        )
    leaf.bands = check_bands(leaf.bands or DEFAULT_BANDS, leaf.name) if leaf.rule == "ratio" else []


def _check_group(group: GroupSpec) -> None:
    """A level-1 indicator with at least one leaf; its weight becomes the leaves' sum (a weight that
    was given must equal it)."""
    _check_indicator_name(group.name)
    if not group.children:
        raise RuleViolation(
            _("Level-1 indicator “%(name)s” has no level-2 indicators.", name=group.name), field="outline"
        )
    for leaf in group.children:
        _check_leaf(leaf)
    subtotal = sum((leaf.weight for leaf in group.children), Decimal("0"))
    if group.weight is not None and group.weight != subtotal:
        raise RuleViolation(
            _(
                "Level-1 indicator “%(name)s” weighs %(weight)s but its level-2 indicators add up to "
                "%(sum)s.",
                name=group.name,
                weight=group.weight,
                sum=subtotal,
            ),
            field="outline",
        )
    group.weight = subtotal


def _check_name(spec: TemplateSpec) -> str:
    name = (spec.name or "").strip()
    if not name:
        raise RuleViolation(_("The template needs a name."), field="name")
    if len(name) > NAME_MAX:
        raise RuleViolation(_("The name is too long (at most %(n)d characters).", n=NAME_MAX), field="name")
    return name


def validate(spec: TemplateSpec) -> TemplateSpec:
    """Names, rules, weights (level-1 = sum of its leaves, all = 100) and bands; raises RuleViolation."""
    name = _check_name(spec)
    if not spec.groups:
        raise RuleViolation(_("Add at least one level-1 indicator."), field="outline")
    if sum(1 + len(g.children) for g in spec.groups) > MAX_INDICATORS:
        raise RuleViolation(_("A template has at most %(n)d indicators.", n=MAX_INDICATORS), field="outline")
    for group in spec.groups:
        _check_group(group)
    grand = sum((g.weight for g in spec.groups), Decimal("0"))
    if grand != TOTAL_WEIGHT:
        raise RuleViolation(
            _("The weights add up to %(sum)s; they must add up to 100.", sum=grand), field="outline"
        )
    if sum(leaf.rule == "survey" for g in spec.groups for leaf in g.children) > 1:
        raise RuleViolation(_("Only one indicator can be scored from the survey."), field="outline")
    spec.name = name
    return spec


# --- reads ----------------------------------------------------------------------------------------


def level_one(template: IndicatorTemplate) -> list[Indicator]:
    return [i for i in template.indicators if i.level == 1]


def children(template: IndicatorTemplate, parent: Indicator) -> list[Indicator]:
    return [i for i in template.indicators if i.parent_id == parent.id]


def leaves(template: IndicatorTemplate) -> list[Indicator]:
    """The level-2 indicators in tree order (level-1 position, then their own)."""
    return [leaf for g in level_one(template) for leaf in children(template, g)]


def tree(template: IndicatorTemplate) -> list[tuple[Indicator, list[Indicator]]]:
    """Each level-1 indicator with its leaves, in order (for the pages)."""
    return [(g, children(template, g)) for g in level_one(template)]


def total_weight(template: IndicatorTemplate) -> Decimal:
    return sum((Decimal(i.weight) for i in template.indicators if i.level == 1), Decimal("0"))


def in_use(template: IndicatorTemplate) -> bool:
    return bool(db.session.scalar(select(exists().where(Evaluation.template_id == template.id))))


def current_templates() -> list[IndicatorTemplate]:
    """The templates that can be chosen: the latest version of each, default first."""
    return list(
        db.session.scalars(
            select(IndicatorTemplate)
            .where(IndicatorTemplate.archived.is_(False))
            .order_by(IndicatorTemplate.is_default.desc(), IndicatorTemplate.category, IndicatorTemplate.id)
        )
    )


def all_templates() -> list[IndicatorTemplate]:
    return list(
        db.session.scalars(
            select(IndicatorTemplate).order_by(
                IndicatorTemplate.archived, IndicatorTemplate.is_default.desc(), IndicatorTemplate.id.desc()
            )
        )
    )
