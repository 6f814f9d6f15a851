"""One contract's changes, one at a time.

Payments, milestone decisions, the final acceptance and variations all read the contract's terms and
ledger and then change them. Each takes the contract row's lock first (PostgreSQL: SELECT … FOR UPDATE;
SQLite serializes writers with BEGIN IMMEDIATE) and re-reads what it decides on, so two officers
accepting the same milestone, or a payment racing a variation, cannot both act on what they read
before the other committed.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.contracts.models import Contract, Milestone
from marketplace.core.records import require_open_record
from marketplace.extensions import db


def lock_contract(contract: Contract) -> Contract:
    """Lock the contract row for the rest of the transaction and refresh it from the database; its
    loaded milestones are refreshed too (their status may have changed while we waited)."""
    locked = db.session.execute(
        select(Contract)
        .where(Contract.id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    # One statement refreshes every milestone row already in the session.
    db.session.execute(
        select(Milestone).where(Milestone.contract_id == locked.id).execution_options(populate_existing=True)
    ).all()
    # Every change to a contract takes this lock first: a closed procurement's records are read-only.
    require_open_record(locked)
    return locked
