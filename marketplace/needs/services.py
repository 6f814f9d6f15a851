"""The verbs of residents' needs. None commits: the request's, job's or command's edge does."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Mapping
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.contracts.models import ACTIVE, Contract, ServiceRecord
from marketplace.core.districts import COMMUNITY, District
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import GRID_WORKER
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.needs import policy
from marketplace.needs.models import (
    DECLINED,
    DISPATCHED,
    GRID_WORKER_SOURCE,
    MERGED,
    MET,
    OPEN,
    REJECTED,
    RESIDENT_SOURCE,
    SCREENING,
    URGENCY_RANK,
    Grid,
    Need,
)
from marketplace.needs.schemas import DESCRIPTION_MAX, DeclineSchema, NeedInputSchema, TenderFromNeedsSchema
from marketplace.tenders import drafting, publication

_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
GRID_COLUMNS = ("code", "name", "community_code", "households", "population", "workers")


def new_receipt_code() -> str:
    return "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(10))


# --- grids -------------------------------------------------------------------------------------------


def load_grids(text: str, actor) -> dict:
    """Create or update grids from CSV (``GRID_COLUMNS``; ``workers``: grid workers' emails separated by
    ``;``). Every row is checked first; one bad row changes nothing and every problem is reported."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in GRID_COLUMNS[:5] if c not in (reader.fieldnames or [])]
    if missing:
        raise RuleViolation(_("The grid file lacks the columns: %(columns)s.", columns=", ".join(missing)))
    rows, problems = [], []
    communities = {d.code: d for d in db.session.scalars(select(District).where(District.level == COMMUNITY))}
    for line, row in enumerate(reader, start=2):
        code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
        community = communities.get((row.get("community_code") or "").strip())
        try:
            households, population = int(row.get("households") or 0), int(row.get("population") or 0)
        except ValueError:
            households = population = -1
        emails = [e.strip().lower() for e in (row.get("workers") or "").split(";") if e.strip()]
        workers = list(db.session.scalars(select(User).where(User.email.in_(emails)))) if emails else []
        if not code or not name or len(code) > 40 or len(name) > 120:
            problems.append(
                _("Line %(line)d: a code (at most 40 characters) and a name are required.", line=line)
            )
        if community is None:
            problems.append(
                _("Line %(line)d: the community code is not a community of the districts.", line=line)
            )
        if households < 0 or population < 0:
            problems.append(
                _("Line %(line)d: households and population are whole numbers, 0 or more.", line=line)
            )
        if len(workers) != len(emails) or any(w.role != GRID_WORKER for w in workers):
            problems.append(
                _("Line %(line)d: every worker must be an existing grid worker account.", line=line)
            )
        rows.append((code, name, community, households, population, workers))
    if problems:
        raise RuleViolation(" ".join(problems))
    created = updated = 0
    for code, name, community, households, population, workers in rows:
        grid = db.session.scalar(select(Grid).where(Grid.code == code))
        if grid is None:
            grid = Grid(code=code, created_at=clock.now())
            db.session.add(grid)
            created += 1
        else:
            updated += 1
        grid.name, grid.community_code = name, community.code
        grid.households, grid.population = households, population
        if workers:
            grid.workers = workers
    db.session.flush()
    audit.record(
        actor,
        "grids.load",
        "grid",
        "-",
        N_("Loaded %(created)s new and %(updated)s updated grids"),
        params={"created": created, "updated": updated},
    )
    return {"created": created, "updated": updated}


# --- recording and screening -------------------------------------------------------------------------


def _grid(data: Mapping) -> Grid:
    grid = db.session.get(Grid, data["grid_id"])
    if grid is None:
        raise RuleViolation(_("Choose the grid."), field="grid_id")
    return grid


def _open_twin(need: Need) -> Need | None:
    """An open need of the same grid and category that ``need`` is a duplicate of."""
    return db.session.scalar(
        select(Need)
        .where(
            Need.grid_id == need.grid_id,
            Need.category == need.category,
            Need.status == OPEN,
            Need.id != need.id,
        )
        .order_by(Need.id)
        .limit(1)
        .with_for_update()
    )


def _locked(needs: list[Need]) -> list[Need]:
    """The needs again, their rows locked and their state read afresh (two people acting on the same need
    at once: the second sees what the first did)."""
    ids = sorted(n.id for n in needs)
    stmt = select(Need).where(Need.id.in_(ids)).order_by(Need.id).with_for_update()
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def _merge_or_open(need: Need, actor) -> Need:
    """Open ``need``, or add it to the open need of its grid and category: counts added, the higher
    urgency kept, its description appended. Returns the need that is open afterwards. The grid's row is
    locked first, so two duplicates recorded at the same moment do not both open: FOR NO KEY UPDATE,
    which the foreign-key locks of the needs just inserted into the grid do not block (no deadlock)."""
    db.session.execute(select(Grid.id).where(Grid.id == need.grid_id).with_for_update(key_share=True))
    twin = _open_twin(need)
    if twin is None:
        need.status = OPEN
        return need
    twin.households += need.households
    twin.people += need.people
    twin.reports += need.reports
    if URGENCY_RANK[need.urgency] > URGENCY_RANK[twin.urgency]:
        twin.urgency = need.urgency
    if need.description not in twin.description:
        twin.description = (twin.description + "\n" + need.description)[: DESCRIPTION_MAX * 4]
    need.status, need.merged_into = MERGED, twin
    db.session.flush()
    audit.record(
        actor,
        "need.merge",
        "need",
        twin.id,
        N_("Merged need %(merged)s into need %(need)s"),
        params={"merged": need.receipt_code, "need": twin.receipt_code},
    )
    return twin


def _new_need(data: dict, grid: Grid, source: str, actor=None) -> Need:
    """A need as entered, waiting for its screening (a grid worker's own is confirmed as it is made)."""
    now = clock.now()
    need = Need(
        receipt_code=new_receipt_code(),
        grid=grid,
        category=data["category"],
        description=data["description"],
        households=data["households"],
        people=data["people"],
        urgency=data["urgency"],
        status=SCREENING,
        source=source,
        reports=1,
        recorded_by_id=actor.id if actor is not None else None,
        created_at=now,
        confirmed_at=now if actor is not None else None,
    )
    db.session.add(need)
    db.session.flush()
    return need


def record_need(raw: Mapping, actor) -> Need:
    """A grid worker records a need in one of its grids (merged with an open duplicate)."""
    data = load(NeedInputSchema(), raw)
    grid = _grid(data)
    if not policy.works_in(actor, grid):
        raise RuleViolation(_("You record needs only in your own grids."), field="grid_id")
    need = _new_need(data, grid, GRID_WORKER_SOURCE, actor)
    params = {"need": need.receipt_code}
    audit.record(actor, "need.record", "need", need.id, N_("Recorded need %(need)s"), params=params)
    _merge_or_open(need, actor)
    return need


def submit_from_resident(raw: Mapping) -> Need:
    """A resident describes a need on the public form: it waits for the grid worker's screening."""
    data = load(NeedInputSchema(), raw)
    need = _new_need(data, _grid(data), RESIDENT_SOURCE)
    summary, params = N_("A resident submitted need %(need)s"), {"need": need.receipt_code}
    audit.record(None, "need.submit", "need", need.id, summary, params=params)
    return need


def _require_screening(need: Need, actor) -> None:
    _locked([need])
    if not policy.works_in(actor, need.grid):
        raise RuleViolation(_("You screen needs only in your own grids."))
    if need.status != SCREENING:
        raise RuleViolation(_("This need was already screened."))


def confirm_need(need: Need, actor) -> Need:
    _require_screening(need, actor)
    need.confirmed_at = clock.now()
    audit.record(
        actor,
        "need.confirm",
        "need",
        need.id,
        N_("Confirmed need %(need)s"),
        params={"need": need.receipt_code},
    )
    return _merge_or_open(need, actor)


def reject_need(need: Need, raw: Mapping, actor) -> None:
    _require_screening(need, actor)
    reason = load(DeclineSchema(), raw)["reason"]
    need.status, need.decline_reason, need.declined_at = REJECTED, reason, clock.now()
    audit.record(
        actor,
        "need.reject",
        "need",
        need.id,
        N_("Screened out need %(need)s"),
        changes={"reason": [None, reason]},
        params={"need": need.receipt_code},
    )


# --- dispatch ----------------------------------------------------------------------------------------


def _dispatchable(needs: Iterable[Need], actor) -> list[Need]:
    chosen = list(needs)
    if not chosen:
        raise RuleViolation(_("Choose at least one need."))
    chosen = _locked(chosen)
    for need in chosen:
        if not policy.in_area(actor, need.grid):
            raise RuleViolation(_("Need %(need)s is outside your area.", need=need.receipt_code))
        if need.status != OPEN:
            raise RuleViolation(_("Need %(need)s is no longer open.", need=need.receipt_code))
    return chosen


def _street_codes(needs: list[Need]) -> list[str]:
    return sorted({n.grid.community.parent_code for n in needs if n.grid.community.parent_code})


def _dispatched(needs: list[Need], actor, **links) -> None:
    now = clock.now()
    for need in needs:
        need.status, need.dispatched_at, need.dispatched_by_id = DISPATCHED, now, actor.id
        for name, value in links.items():
            setattr(need, name, value)


def description_of(needs: list[Need]) -> str:
    lines = [_("Residents' needs this service answers (居民需求):")]
    for n in needs:
        lines.append(
            _(
                "- %(grid)s: %(description)s (%(people)d people, %(households)d households; need %(code)s)",
                grid=n.grid.name,
                description=n.description.replace("\n", "; "),
                people=n.people,
                households=n.households,
                code=n.receipt_code,
            )
        )
    return "\n".join(lines)


def dispatch_to_tender(needs: Iterable[Need], raw: Mapping, actor):
    """Turn needs of one category into a tender draft of the officer's agency, prefilled with the
    category, the streets served and a description listing the needs; the officer edits it as any other."""
    chosen = _dispatchable(needs, actor)
    categories = {n.category for n in chosen}
    if len(categories) != 1:
        raise RuleViolation(
            _("A tender answers needs of one service category: choose needs of one category.")
        )
    extra = load(TenderFromNeedsSchema(), raw)
    agency = actor.agency
    tender = drafting.create_draft(
        {
            "title": extra["title"],
            "description": description_of(chosen),
            "category": categories.pop(),
            "district_code": agency.district_code,
            "service_area_codes": _street_codes(chosen),
            "method": "public_tender",
            "evaluation_method": "comprehensive_scoring",
            "budget_ceiling": Decimal(extra["budget_ceiling"]),
            "funding_sources": ["county_budget"],
            "contract_term_months": extra["contract_term_months"],
            "bid_deadline": publication.default_deadline("public_tender"),
            "price_weight": 30,
            "criteria": [
                {"name": _("Service plan"), "weight": 40},
                {"name": _("Staff qualifications"), "weight": 20},
                {"name": _("Past performance"), "weight": 10},
            ],
            "contact_name": actor.name,
            "contact_email": actor.email,
        },
        actor,
    )
    _dispatched(chosen, actor, tender_id=tender.id)
    audit.record(
        actor,
        "needs.dispatch",
        "tender",
        tender.id,
        N_("Dispatched %(count)s needs into this tender"),
        params={"count": len(chosen)},
    )
    return tender


def contracts_covering(needs: list[Need], actor) -> list[Contract]:
    """Active contracts of the officer's agency in the needs' category whose service areas cover every
    street of the needs."""
    if not needs:
        return []
    categories = {n.category for n in needs}
    streets = set(_street_codes(needs))
    found = []
    for contract in db.session.scalars(
        select(Contract)
        .where(Contract.agency_id == actor.agency_id, Contract.status == ACTIVE)
        .order_by(Contract.id)
    ):
        areas = {d.code for d in contract.tender.service_areas}
        if {contract.tender.category} == categories and streets <= areas:
            found.append(contract)
    return found


def route_to_contract(needs: Iterable[Need], contract: Contract, actor) -> None:
    chosen = _dispatchable(needs, actor)
    if contract not in contracts_covering(chosen, actor):
        raise RuleViolation(
            _(
                "That contract does not cover these needs: it must be active, of your agency, in their "
                "category and serve their streets."
            )
        )
    _dispatched(chosen, actor, contract_id=contract.id, tender_id=contract.tender_id)
    audit.record(
        actor,
        "needs.route",
        "contract",
        contract.id,
        N_("Routed %(count)s needs to this contract"),
        params={"count": len(chosen)},
        tender_id=contract.tender_id,
    )


def decline(needs: Iterable[Need], raw: Mapping, actor) -> None:
    chosen = _dispatchable(needs, actor)
    reason = load(DeclineSchema(), raw)["reason"]
    now = clock.now()
    for need in chosen:
        need.status, need.declined_at, need.decline_reason = DECLINED, now, reason
        need.dispatched_by_id = actor.id
        audit.record(
            actor,
            "need.decline",
            "need",
            need.id,
            N_("Declined need %(need)s"),
            changes={"reason": [None, reason]},
            params={"need": need.receipt_code},
        )


# --- closing the loop (the close-needs job) ----------------------------------------------------------


def close_the_loop(now) -> dict:
    """Set-based, for the ``close-needs`` job: needs dispatched to a tender get the tender's contract once
    there is one; a dispatched need whose contract recorded a service in the need's community since the
    dispatch is met (and its grid is offered the contract's satisfaction survey: the need's page)."""
    contract_of_tender = (
        select(Contract.id).where(Contract.tender_id == Need.tender_id).limit(1).scalar_subquery()
    )
    linked = db.session.execute(
        update(Need)
        .where(Need.status == DISPATCHED, Need.contract_id.is_(None), Need.tender_id.is_not(None))
        .where(exists().where(Contract.tender_id == Need.tender_id))
        .values(contract_id=contract_of_tender)
        .execution_options(synchronize_session=False)
    ).rowcount
    delivered = (
        exists()
        .where(
            ServiceRecord.contract_id == Need.contract_id,
            ServiceRecord.community_code == Grid.community_code,
            ServiceRecord.recorded_at >= Need.dispatched_at,
        )
        .where(Grid.id == Need.grid_id)
    )
    met = db.session.execute(
        update(Need)
        .where(Need.status == DISPATCHED, Need.contract_id.is_not(None), delivered)
        .values(status=MET, met_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return {"changed": linked + met, "linked": linked, "met": met}
