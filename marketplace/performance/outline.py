"""The outline text an administrator edits a template in, one indicator per line::

    产出 Output | 35
    - 目标完成率 Target completion | ratio | 20 | 1.00:1, 0.80:0.6667, 0.60:0.3333, 0:0
    - 服务质量 Service quality | manual | 10

A level-1 line is ``name | weight`` (the weight is optional and checked against its leaves); a leaf
line starts with ``-`` and reads ``name | rule | maximum points | bands`` (bands only for ratio rules;
left out, the default bands apply). Full-width bars, commas and colons are accepted too; lines
starting with ``#`` are comments.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from marketplace.core.errors import RuleViolation
from marketplace.core.schemas import parse_decimal
from marketplace.performance.indicators import GroupSpec, LeafSpec, tree
from marketplace.performance.models import IndicatorTemplate


def _number(text: str, line_no: int) -> Decimal:
    value = parse_decimal(text)
    if value is None:
        raise RuleViolation(
            _("Line %(n)d: “%(text)s” is not a number.", n=line_no, text=text.strip()), field="outline"
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


def _leaf(cells: list[str], line_no: int) -> LeafSpec:
    if len(cells) < 3 or len(cells) > 4:
        raise RuleViolation(
            _("Line %(n)d: write a level-2 indicator as - name | rule | maximum points.", n=line_no),
            field="outline",
        )
    bands = _parse_bands(cells[3], line_no) if len(cells) == 4 and cells[3] else []
    return LeafSpec(cells[0], _number(cells[2], line_no), cells[1].lower(), bands)


def _group(cells: list[str], line_no: int) -> GroupSpec:
    if len(cells) > 2:
        raise RuleViolation(
            _("Line %(n)d: write a level-1 indicator as name | weight.", n=line_no), field="outline"
        )
    weight = _number(cells[1], line_no) if len(cells) == 2 and cells[1] else None
    return GroupSpec(cells[0], [], weight)


def parse_outline(text: str) -> list[GroupSpec]:
    """The groups and leaves the outline describes (unchecked: :func:`indicators.validate` checks)."""
    groups: list[GroupSpec] = []
    for line_no, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.lstrip("-").replace("｜", "|").split("|")]
        if not line.startswith("-"):
            groups.append(_group(cells, line_no))
        elif not groups:
            raise RuleViolation(
                _("Line %(n)d: a level-2 indicator must follow a level-1 indicator.", n=line_no),
                field="outline",
            )
        else:
            groups[-1].children.append(_leaf(cells, line_no))
    return groups


def _fmt(value) -> str:
    return f"{Decimal(value).normalize():f}"


def to_outline(template: IndicatorTemplate) -> str:
    """The template as outline text (what the edit form shows)."""
    lines = []
    for group, leaves in tree(template):
        lines.append(f"{group.name} | {_fmt(group.weight)}")
        for leaf in leaves:
            line = f"- {leaf.name} | {leaf.rule} | {_fmt(leaf.weight)}"
            if leaf.rule == "ratio":
                line += " | " + ", ".join(f"{b['min_ratio']}:{b['share']}" for b in leaf.bands)
            lines.append(line)
    return "\n".join(lines)
