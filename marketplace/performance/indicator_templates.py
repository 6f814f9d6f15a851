"""Indicator-template verbs: the default template, copies per service category, and edits.

A template that any evaluation uses is never changed in place: editing it makes a new version and
archives the old one, which stays as the evaluations scored it. Only administrators change templates.
Each verb writes an audit event; the caller commits.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import ADMIN
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.performance.indicators import (
    NAME_MAX,
    GroupSpec,
    LeafSpec,
    TemplateSpec,
    in_use,
    tree,
    validate,
)
from marketplace.performance.models import DEFAULT_BANDS, Indicator, IndicatorTemplate
from marketplace.performance.schemas import TemplateCopyInputSchema

DEFAULT_NAME = "通用绩效评价指标体系 General performance indicators"


def _d(value: str) -> Decimal:
    return Decimal(value)


def _default_tree() -> list[GroupSpec]:
    """DOMAIN.md's general template: input 15, process 20, output 35, effect 20, satisfaction 10."""
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
                for leaf in leaves
            ],
            Decimal(g.weight),
            g.description,
        )
        for g, leaves in tree(template)
    ]


def _require_admin(actor) -> None:
    if actor is None or getattr(actor, "role", None) != ADMIN:
        raise RuleViolation(_("Only an administrator can change indicator templates."))


def default_template(actor=None) -> IndicatorTemplate:
    """The general template of DOMAIN.md, created (and audited) the first time it is asked for."""
    found = db.session.scalar(
        select(IndicatorTemplate)
        .where(IndicatorTemplate.is_default.is_(True), IndicatorTemplate.archived.is_(False))
        .order_by(IndicatorTemplate.id.desc())
    )
    if found is not None:
        return found
    template = IndicatorTemplate(
        name=DEFAULT_NAME,
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
        N_("Default indicator template created as %(id)s"),
        {"version": template.version, "default": True},
        params={"id": template.id},
    )
    return template


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


def copy_template(template: IndicatorTemplate, category: str, actor, name: str = "") -> IndicatorTemplate:
    """A new template for a service category, starting as a copy of ``template``."""
    _require_admin(actor)
    data = load(TemplateCopyInputSchema(), {"category": category, "name": name})
    category = data["category"]
    name = data["name"] or f"{template.name} — {SERVICE_CATEGORIES[category]}"
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
        N_("Copied indicator template %(source)s for category %(category)s"),
        {"source": template.id, "category": category},
        params={"source": template.id, "category": category},
    )
    return copy


def _new_version(template: IndicatorTemplate, spec: TemplateSpec, actor) -> IndicatorTemplate:
    """The edit as a new version of a template in use; the old one is archived."""
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
        N_("Indicator template %(old)s is in use: version %(version)s made as %(id)s"),
        {"supersedes": template.id, "version": [template.version, new.version]},
        params={"old": template.id, "version": new.version, "id": new.id},
    )
    return new


def update_template(template: IndicatorTemplate, spec: TemplateSpec, actor) -> IndicatorTemplate:
    """Edit a template. In use by any evaluation: a new version is made (the old one is archived and
    stays as the evaluations scored it). Returns the template that now holds the edit."""
    _require_admin(actor)
    if template.archived:
        raise RuleViolation(_("This version was replaced by a newer one: edit the current version."))
    spec = validate(spec)
    if in_use(template):
        return _new_version(template, spec, actor)
    template.name = spec.name
    _build(template, spec.groups)
    audit.record(
        actor,
        "indicator_template.update",
        "indicator_template",
        template.id,
        N_("Indicator template %(id)s edited"),
        params={"id": template.id},
    )
    return template
