"""Administrative divisions (GB/T 2260): county/district → township/street → community/village.

The hierarchy is stored explicitly (``parent_code``, ``level``); levels are never inferred from
digit ranges.
"""

from __future__ import annotations

import csv
from importlib import resources

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db

COUNTY = "county"
STREET = "street"
COMMUNITY = "community"
LEVELS = (COUNTY, STREET, COMMUNITY)


class District(db.Model):
    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    name_en: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)

    parent: Mapped[District | None] = relationship(remote_side=[code], back_populates="children")
    children: Mapped[list[District]] = relationship(back_populates="parent", order_by="District.code")

    def display_name(self, locale: str | None = None) -> str:
        if locale and locale.startswith("en") and self.name_en:
            return self.name_en
        return self.name

    def path(self) -> list[District]:
        node, chain = self, []
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def __repr__(self) -> str:
        return f"<District {self.code} {self.name}>"


def read_csv(text: str) -> list[dict]:
    rows = []
    for row in csv.DictReader(text.splitlines()):
        level = row["level"].strip()
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r} for {row['code']}")
        rows.append(
            {
                "code": row["code"].strip(),
                "name": row["name"].strip(),
                "name_en": (row.get("name_en") or "").strip(),
                "level": level,
                "parent_code": (row.get("parent_code") or "").strip() or None,
            }
        )
    return rows


def demo_rows() -> list[dict]:
    text = resources.files("marketplace").joinpath("data/districts-demo.csv").read_text("utf-8")
    return read_csv(text)


def load(rows: list[dict]) -> int:
    """Insert or update divisions; parents first. Returns the number of rows written."""
    existing = {d.code: d for d in db.session.scalars(select(District))}
    order = {COUNTY: 0, STREET: 1, COMMUNITY: 2}
    for row in sorted(rows, key=lambda r: order[r["level"]]):
        d = existing.get(row["code"])
        if d is None:
            d = District(**row)
            db.session.add(d)
            existing[d.code] = d
        else:
            for k, v in row.items():
                setattr(d, k, v)
    db.session.flush()
    return len(rows)


def counties() -> list[District]:
    return list(db.session.scalars(select(District).where(District.level == COUNTY).order_by(District.code)))


def streets_of(county_code: str) -> list[District]:
    return list(
        db.session.scalars(
            select(District).where(District.parent_code == county_code).order_by(District.code)
        )
    )
