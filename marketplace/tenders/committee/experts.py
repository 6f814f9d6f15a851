"""The evaluation expert pool (评审专家库, 财库〔2016〕198号): the admins' verbs that keep it, and what a draw
and an appointment ask of it (who is available, who works for whom).

An entry links an evaluator account to the categories it is drawn for, its districts, its employer
(free text, and the organization or agency when the employer is registered here) and its availability.
The verbs check their rule, change rows and write an audit event; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, not_, or_, select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import Agency, User
from marketplace.core.districts import District
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import ADMIN, EVALUATOR
from marketplace.core.schemas import load
from marketplace.core.timeutil import local_date
from marketplace.core.transaction import flush_unique
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from marketplace.tenders.bids.visibility import bidding_organization_ids
from marketplace.tenders.committee.models import Expert
from marketplace.tenders.committee.schemas import ExpertInputSchema, NewExpertInputSchema
from marketplace.tenders.models import Tender

# --- reads -------------------------------------------------------------------------------------------


@dataclass
class PoolFilter:
    q: str = ""
    category: str = ""
    availability: str = ""  # available | unavailable (as of today)


def is_available(expert: Expert, day: date | None = None) -> bool:
    """Available, or unavailable only until a day that has passed."""
    if expert.availability == "available":
        return True
    day = day or local_date(clock.now())
    return expert.unavailable_until is not None and expert.unavailable_until < day


def pool_query(f: PoolFilter):
    """The pool entries matching the admin's filter, by name then e-mail."""
    stmt = select(Expert).join(User, Expert.user_id == User.id)
    if f.q:
        for word in f.q.split()[:5]:
            like = f"%{word}%"
            stmt = stmt.where(or_(User.name.ilike(like), User.email.ilike(like), Expert.employer.ilike(like)))
    if f.category:
        stmt = stmt.where(cast(Expert.categories, String).contains(f'"{f.category}"', autoescape=True))
    if f.availability in ("available", "unavailable"):
        today = local_date(clock.now())
        away = and_(
            Expert.availability == "unavailable",
            or_(Expert.unavailable_until.is_(None), Expert.unavailable_until >= today),
        )
        stmt = stmt.where(away if f.availability == "unavailable" else not_(away))
    return stmt.order_by(User.name, User.email, Expert.id)


def experts_of_category(category: str) -> list[Expert]:
    """Every pool entry drawn for ``category``, in canonical (id) order."""
    stmt = select(Expert).where(cast(Expert.categories, String).contains(f'"{category}"', autoescape=True))
    return [e for e in db.session.scalars(stmt.order_by(Expert.id)) if category in (e.categories or [])]


def pool_entry(user) -> Expert | None:
    if user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(Expert).where(Expert.user_id == user.id))


def evaluators_outside_pool() -> list[User]:
    """Evaluator accounts that have no pool entry yet (the choices when adding one)."""
    pooled = select(Expert.user_id)
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == EVALUATOR, User.active.is_(True), User.id.not_in(pooled))
            .order_by(User.name, User.email)
        )
    )


def works_for_bidder(tender: Tender, expert: Expert | None) -> bool:
    """The expert's employer is an organization with an active or submitted bid on ``tender``."""
    return (
        expert is not None
        and expert.employer_organization_id is not None
        and expert.employer_organization_id in bidding_organization_ids(tender)
    )


def bidder_employees(tender: Tender, users) -> list[User]:
    """Those of ``users`` whose pool entry says they work for a bidder on ``tender``."""
    bidders = bidding_organization_ids(tender)
    ids = [u.id for u in users if u is not None]
    if not bidders or not ids:
        return []
    employed = set(
        db.session.scalars(
            select(Expert.user_id).where(
                Expert.user_id.in_(ids), Expert.employer_organization_id.in_(bidders)
            )
        )
    )
    return [u for u in users if u is not None and u.id in employed]


# --- verbs -------------------------------------------------------------------------------------------


def _require_admin(actor) -> None:
    if actor is None or getattr(actor, "role", None) != ADMIN:
        raise RuleViolation(_("Only an administrator can keep the expert pool."))


def _resolve(data: dict) -> dict:
    """The districts, organization and agency the input names, or a message next to its field."""
    codes = list(dict.fromkeys(data["district_codes"]))
    districts = list(db.session.scalars(select(District).where(District.code.in_(codes)))) if codes else []
    if len(districts) != len(codes):
        raise RuleViolation(_("Choose districts from the list."), field="district_codes")
    org_id, agency_id = data["employer_organization_id"], data["employer_agency_id"]
    if org_id is not None and db.session.get(Organization, org_id) is None:
        raise RuleViolation(_("Choose an organization from the list."), field="employer_organization_id")
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        raise RuleViolation(_("Choose an agency from the list."), field="employer_agency_id")
    return {"districts": districts}


def _apply(expert: Expert, data: dict, districts: list[District]) -> None:
    expert.categories = list(dict.fromkeys(data["categories"]))
    expert.districts = districts
    expert.employer = data["employer"]
    expert.employer_organization_id = data["employer_organization_id"]
    expert.employer_agency_id = data["employer_agency_id"]
    expert.availability = data["availability"]
    expert.unavailable_until = data["unavailable_until"]


def _snapshot(expert: Expert) -> dict:
    return {
        "categories": list(expert.categories or []),
        "districts": [d.code for d in expert.districts],
        "employer": expert.employer,
        "employer_organization_id": expert.employer_organization_id,
        "employer_agency_id": expert.employer_agency_id,
        "availability": expert.availability,
        "unavailable_until": expert.unavailable_until,
    }


def add_expert(raw: dict, actor) -> Expert:
    _require_admin(actor)
    data = load(NewExpertInputSchema(), raw)
    user = db.session.get(User, data["user_id"])
    if user is None or user.role != EVALUATOR:
        raise RuleViolation(_("Only an evaluator account can join the expert pool."), field="user_id")
    if pool_entry(user) is not None:
        raise RuleViolation(_("This evaluator is already in the expert pool."), field="user_id")
    resolved = _resolve(data)
    expert = Expert(user_id=user.id)
    _apply(expert, data, resolved["districts"])
    db.session.add(expert)
    flush_unique(_("This evaluator is already in the expert pool."), "user_id")  # added at the same moment
    audit.record(
        actor,
        "expert.add",
        "expert",
        expert.id,
        N_("Added expert %(expert)s to the pool"),
        _snapshot(expert),
        params={"expert": expert.id},
    )
    return expert


def edit_expert(expert: Expert, raw: dict, actor) -> Expert:
    _require_admin(actor)
    data = load(ExpertInputSchema(), raw)
    resolved = _resolve(data)
    before = _snapshot(expert)
    _apply(expert, data, resolved["districts"])
    db.session.flush()
    changes = audit.diff(before, _snapshot(expert))
    if changes:
        audit.record(
            actor,
            "expert.edit",
            "expert",
            expert.id,
            N_("Changed expert %(expert)s in the pool"),
            changes,
            params={"expert": expert.id},
        )
    return expert
