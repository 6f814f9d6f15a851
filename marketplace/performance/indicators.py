"""Indicator systems (指标体系): the default template, copies per service category, and edits.

A template is a tree: level-1 indicators whose weight is the sum of their level-2 leaves, and leaves
whose weight is their maximum points; the level-1 weights sum to 100. A template that any evaluation
uses is never changed in place: editing it makes a new version and archives the old one.

Templates are edited as an outline, one indicator per line::

    产出 Output | 35
    - 目标完成率 Target completion | ratio | 20 | 1.00:1, 0.80:0.6667, 0.60:0.3333, 0:0
    - 服务质量 Service quality | manual | 10

A level-1 line is ``name | weight`` (the weight is optional and checked against its leaves); a leaf
line starts with ``-`` and reads ``name | rule | maximum points | bands`` (bands only for ratio rules;
left out, the default bands apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import exists, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import ADMIN
from marketplace.extensions import db
from marketplace.performance.models import DEFAULT_BANDS, RULES, Evaluation, Indicator, IndicatorTemplate

TOTAL_WEIGHT = Decimal("100")
NAME_MAX = 200
DESCRIPTION_MAX = 2000
MAX_INDICATORS = 60
WEIGHT_MAX = Decimal("100")


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


def _d(value: str) -> Decimal:
    return Decimal(value)


def _default_tree() -> list[GroupSpec]:
    bands = [dict(b) for b in DEFAULT_BANDS]
    return [
        GroupSpec(
            "决策·投入 Decision and input",
            [
                LeafSpec("目标设定明确量化 Clear, quantified targets", _d("8")),
                LeafSpec("预算编制合理 Reasonable budget", _d("7")),
            ],
        ),
        GroupSpec(
            "过程 Process",
            [
                LeafSpec("资金使用合规 Lawful use of funds", _d("8")),
                LeafSpec("服务记录完整 Complete service records", _d("7")),
                LeafSpec("无违规转包 No onward subcontracting", _d("5")),
            ],
        ),
        GroupSpec(
            "产出 Output",
            [
                LeafSpec("目标完成率 Target completion (actual ÷ planned)", _d("20"), "ratio", bands),
                LeafSpec("服务质量 Service quality", _d("10")),
                LeafSpec("及时性 Timeliness", _d("5")),
            ],
        ),
        GroupSpec(
            "效益 Effect",
            [
                LeafSpec("服务对象状况改善 Improvement for service recipients", _d("12")),
                LeafSpec("可持续性 Sustainability", _d("8")),
            ],
        ),
        GroupSpec(
            "满意度 Satisfaction",
            [LeafSpec("服务对象满意度 Service-recipient satisfaction", _d("10"), "survey")],
        ),
    ]


# --- validation -----------------------------------------------------------------------------------


def check_bands(bands, where: str = "") -> list[dict]:
    """Bands as stored: strictly descending ``min_ratio`` ending at 0, shares between 0 and 1 that never
    rise as the ratio falls."""
    prefix = f"{where}: " if where else ""
    if not bands:
        raise RuleViolation(prefix + _("A ratio indicator needs at least one band."), field="outline")
    rows = []
    try:
        for b in bands:
            rows.append((Decimal(str(b["min_ratio"])), Decimal(str(b["share"]))))
    except (InvalidOperation, KeyError, TypeError, ValueError):
        raise RuleViolation(
            prefix + _("Write each band as minimum ratio:share, e.g. 0.80:0.6667."), field="outline"
        ) from None
    for ratio, share in rows:
        if not (ratio.is_finite() and share.is_finite()):
            raise RuleViolation(prefix + _("Band values must be numbers."), field="outline")
        if not Decimal("0") <= share <= Decimal("1"):
            raise RuleViolation(prefix + _("A band's share must be between 0 and 1."), field="outline")
        if not Decimal("0") <= ratio <= Decimal("10"):
            raise RuleViolation(
                prefix + _("A band's minimum ratio must be between 0 and 10."), field="outline"
            )
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


def validate(spec: TemplateSpec) -> TemplateSpec:
    """Names, rules, weights (level-1 = sum of its leaves, all = 100) and bands; raises RuleViolation."""
    name = (spec.name or "").strip()
    if not name:
        raise RuleViolation(_("The template needs a name."), field="name")
    if len(name) > NAME_MAX:
        raise RuleViolation(_("The name is too long (at most %(n)d characters).", n=NAME_MAX), field="name")
    if not spec.groups:
        raise RuleViolation(_("Add at least one level-1 indicator."), field="outline")
    if sum(1 + len(g.children) for g in spec.groups) > MAX_INDICATORS:
        raise RuleViolation(_("A template has at most %(n)d indicators.", n=MAX_INDICATORS), field="outline")
    grand = Decimal("0")
    surveys = 0
    for g in spec.groups:
        if not g.name.strip() or len(g.name) > NAME_MAX:
            raise RuleViolation(_("Every indicator needs a name of at most 200 characters."), field="outline")
        if not g.children:
            raise RuleViolation(
                _("Level-1 indicator “%(name)s” has no level-2 indicators.", name=g.name), field="outline"
            )
        subtotal = Decimal("0")
        for leaf in g.children:
            if not leaf.name.strip() or len(leaf.name) > NAME_MAX:
                raise RuleViolation(
                    _("Every indicator needs a name of at most 200 characters."), field="outline"
                )
            if leaf.rule not in RULES:
                raise RuleViolation(
                    _("“%(name)s”: the rule must be manual, ratio or survey.", name=leaf.name),
                    field="outline",
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
            if leaf.rule == "ratio":
                leaf.bands = check_bands(leaf.bands or DEFAULT_BANDS, leaf.name)
            else:
                leaf.bands = []
            surveys += leaf.rule == "survey"
            subtotal += leaf.weight
        if g.weight is not None and g.weight != subtotal:
            raise RuleViolation(
                _(
                    "Level-1 indicator “%(name)s” weighs %(weight)s but its level-2 indicators add up to "
                    "%(sum)s.",
                    name=g.name,
                    weight=g.weight,
                    sum=subtotal,
                ),
                field="outline",
            )
        g.weight = subtotal
        grand += subtotal
    if grand != TOTAL_WEIGHT:
        raise RuleViolation(
            _("The weights add up to %(sum)s; they must add up to 100.", sum=grand), field="outline"
        )
    if surveys > 1:
        raise RuleViolation(_("Only one indicator can be scored from the survey."), field="outline")
    spec.name = name
    return spec


# --- the outline text -----------------------------------------------------------------------------


def _number(text: str, line_no: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise RuleViolation(
            _("Line %(n)d: “%(text)s” is not a number.", n=line_no, text=text.strip()), field="outline"
        ) from None
    if not value.is_finite():
        raise RuleViolation(
            _("Line %(n)d: “%(text)s” is not a number.", n=line_no, text=text), field="outline"
        )
    return value


def _parse_bands(text: str, line_no: int) -> list[dict]:
    bands = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        ratio, sep, share = part.replace("：", ":").partition(":")
        if not sep:
            raise RuleViolation(
                _("Line %(n)d: write each band as minimum ratio:share, e.g. 0.80:0.6667.", n=line_no),
                field="outline",
            )
        bands.append({"min_ratio": _number(ratio, line_no), "share": _number(share, line_no)})
    return bands


def parse_outline(text: str) -> list[GroupSpec]:
    groups: list[GroupSpec] = []
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.lstrip("-").replace("｜", "|").split("|")]
        if line.startswith("-"):
            if not groups:
                raise RuleViolation(
                    _("Line %(n)d: a level-2 indicator must follow a level-1 indicator.", n=line_no),
                    field="outline",
                )
            if len(cells) < 3 or len(cells) > 4:
                raise RuleViolation(
                    _("Line %(n)d: write a level-2 indicator as - name | rule | maximum points.", n=line_no),
                    field="outline",
                )
            rule = cells[1].lower()
            bands = _parse_bands(cells[3], line_no) if len(cells) == 4 and cells[3] else []
            groups[-1].children.append(LeafSpec(cells[0], _number(cells[2], line_no), rule, bands))
        else:
            if len(cells) > 2:
                raise RuleViolation(
                    _("Line %(n)d: write a level-1 indicator as name | weight.", n=line_no), field="outline"
                )
            weight = _number(cells[1], line_no) if len(cells) == 2 and cells[1] else None
            groups.append(GroupSpec(cells[0], [], weight))
    return groups


def _fmt(value) -> str:
    return f"{Decimal(value).normalize():f}"


def to_outline(template: IndicatorTemplate) -> str:
    lines = []
    for g in level_one(template):
        lines.append(f"{g.name} | {_fmt(g.weight)}")
        for leaf in children(template, g):
            line = f"- {leaf.name} | {leaf.rule} | {_fmt(leaf.weight)}"
            if leaf.rule == "ratio":
                line += " | " + ", ".join(f"{b['min_ratio']}:{b['share']}" for b in leaf.bands)
            lines.append(line)
    return "\n".join(lines)


# --- reads ----------------------------------------------------------------------------------------


def level_one(template: IndicatorTemplate) -> list[Indicator]:
    return [i for i in template.indicators if i.level == 1]


def children(template: IndicatorTemplate, parent: Indicator) -> list[Indicator]:
    return [i for i in template.indicators if i.parent_id == parent.id]


def leaves(template: IndicatorTemplate) -> list[Indicator]:
    """The level-2 indicators in tree order (level-1 position, then their own)."""
    return [leaf for g in level_one(template) for leaf in children(template, g)]


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


def for_category(category: str | None) -> IndicatorTemplate:
    """The current template made for a service category, else the default one."""
    if category:
        found = db.session.scalar(
            select(IndicatorTemplate)
            .where(IndicatorTemplate.category == category, IndicatorTemplate.archived.is_(False))
            .order_by(IndicatorTemplate.id.desc())
        )
        if found is not None:
            return found
    return default_template()


# --- verbs ----------------------------------------------------------------------------------------


def _build(template: IndicatorTemplate, groups: list[GroupSpec]) -> None:
    # Leaves before their parents (indicators.parent_id has no cascade).
    for level in (2, 1):
        for indicator in [i for i in template.indicators if i.level == level]:
            template.indicators.remove(indicator)
        db.session.flush()
    for gi, g in enumerate(groups):
        parent = Indicator(
            level=1, position=gi, name=g.name.strip(), description=g.description, weight=g.weight
        )
        template.indicators.append(parent)
        db.session.flush()  # the parent's id, for its leaves
        for li, leaf in enumerate(g.children):
            template.indicators.append(
                Indicator(
                    level=2,
                    parent_id=parent.id,
                    position=li,
                    name=leaf.name.strip(),
                    description=leaf.description,
                    weight=leaf.weight,
                    rule=leaf.rule,
                    bands=leaf.bands,
                )
            )
    db.session.flush()


def _spec_of(template: IndicatorTemplate) -> list[GroupSpec]:
    return [
        GroupSpec(
            g.name,
            [
                LeafSpec(leaf.name, Decimal(leaf.weight), leaf.rule, list(leaf.bands or []), leaf.description)
                for leaf in children(template, g)
            ],
            Decimal(g.weight),
            g.description,
        )
        for g in level_one(template)
    ]


def _require_admin(actor) -> None:
    if actor is None or getattr(actor, "role", None) != ADMIN:
        raise RuleViolation(_("Only an administrator can change indicator templates."))


def default_template(actor=None) -> IndicatorTemplate:
    """The general template of DOMAIN.md (input 15, process 20, output 35, effect 20, satisfaction 10),
    created the first time it is asked for."""
    found = db.session.scalar(
        select(IndicatorTemplate)
        .where(IndicatorTemplate.is_default.is_(True), IndicatorTemplate.archived.is_(False))
        .order_by(IndicatorTemplate.id.desc())
    )
    if found is not None:
        return found
    template = IndicatorTemplate(
        name="通用绩效评价指标体系 General performance indicators",
        category=None,
        version=1,
        is_default=True,
        created_at=clock.now(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(template)
    db.session.flush()
    _build(template, validate(TemplateSpec(template.name, _default_tree())).groups)
    audit.record(
        actor,  # None ("system") when first needed by an assignment
        "indicator_template.create",
        "indicator_template",
        template.id,
        f"Default indicator template created as {template.id}",
        {"version": template.version, "default": True},
    )
    return template


def copy_template(template: IndicatorTemplate, category: str, actor, name: str = "") -> IndicatorTemplate:
    """A new template for a service category, starting as a copy of ``template``."""
    _require_admin(actor)
    if category not in SERVICE_CATEGORIES:
        raise RuleViolation(_("Choose a service category."), field="category")
    name = (name or "").strip() or f"{template.name} — {SERVICE_CATEGORIES[category]}"
    spec = validate(TemplateSpec(name[:NAME_MAX], _spec_of(template)))
    copy = IndicatorTemplate(
        name=spec.name, category=category, version=1, created_at=clock.now(), created_by_id=actor.id
    )
    db.session.add(copy)
    db.session.flush()
    _build(copy, spec.groups)
    audit.record(
        actor,
        "indicator_template.copy",
        "indicator_template",
        copy.id,
        f"Copied indicator template {template.id} for category {category}",
        {"source": template.id, "category": category},
    )
    return copy


def update_template(template: IndicatorTemplate, spec: TemplateSpec, actor) -> IndicatorTemplate:
    """Edit a template. In use by any evaluation: a new version is made (the old one is archived and
    stays as the evaluations scored it). Returns the template that now holds the edit."""
    _require_admin(actor)
    if template.archived:
        raise RuleViolation(_("This version was replaced by a newer one: edit the current version."))
    spec = validate(spec)
    if in_use(template):
        new = IndicatorTemplate(
            name=spec.name,
            category=template.category,
            version=template.version + 1,
            supersedes_id=template.id,
            is_default=template.is_default,
            created_at=clock.now(),
            created_by_id=actor.id,
        )
        template.archived = True
        template.is_default = False
        db.session.add(new)
        db.session.flush()
        _build(new, spec.groups)
        audit.record(
            actor,
            "indicator_template.new_version",
            "indicator_template",
            new.id,
            f"Indicator template {template.id} is in use: version {new.version} made as {new.id}",
            {"supersedes": template.id, "version": [template.version, new.version]},
        )
        return new
    template.name = spec.name
    _build(template, spec.groups)
    audit.record(
        actor,
        "indicator_template.update",
        "indicator_template",
        template.id,
        f"Indicator template {template.id} edited",
    )
    return template
