"""A published tender's contracting process: its ocid, the rows its releases are made of (loaded once),
and the frame every release shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from marketplace.contracts.models import Contract, Payment, Variation
from marketplace.extensions import db
from marketplace.ocds import mapping as m
from marketplace.ocds.parties import BUYER_ROLES, agency_party, agency_ref
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.committee.models import Award, Challenge
from marketplace.tenders.models import PUBLIC_STATUSES, Tender


def ocid_of(tender: Tender) -> str:
    return f"{current_app.config['OCDS_PREFIX']}-{tender.id}"


def tender_id_of(ocid: str) -> int | None:
    """The tender id an ocid of ours names, or None (another prefix, or not a number)."""
    prefix = current_app.config["OCDS_PREFIX"] + "-"
    if not ocid.startswith(prefix):
        return None
    rest = ocid[len(prefix) :]
    if not rest.isdigit() or len(rest) > 12:
        return None
    return int(rest)


def is_published(tender: Tender | None) -> bool:
    return tender is not None and tender.status in PUBLIC_STATUSES and tender.published_at is not None


@dataclass
class Process:
    """What the releases of one tender are made of, loaded once (public rows only)."""

    tender: Tender
    opening: BidOpening | None
    awards: list[Award]
    contract: Contract | None
    variations: list[Variation]
    payments: list[Payment]
    upheld: dict[int, Challenge]  # award id → the upheld challenge that annulled it

    @classmethod
    def load(cls, tender: Tender) -> Process:
        opening = db.session.scalar(select(BidOpening).where(BidOpening.tender_id == tender.id))
        awards = list(
            db.session.scalars(select(Award).where(Award.tender_id == tender.id).order_by(Award.id))
        )
        contract = db.session.scalar(select(Contract).where(Contract.tender_id == tender.id))
        if contract is not None and contract.activated_at is None:
            contract = None  # a draft contract is not public
        variations, payments = [], []
        if contract is not None:
            variations = list(
                db.session.scalars(
                    select(Variation)
                    .where(Variation.contract_id == contract.id, Variation.status == "approved")
                    .order_by(Variation.decided_at, Variation.id)
                )
            )
            payments = list(
                db.session.scalars(
                    select(Payment)
                    .where(Payment.contract_id == contract.id)
                    .order_by(Payment.recorded_at, Payment.id)
                )
            )
        upheld = {}
        if any(a.status == "annulled" for a in awards):
            for ch in db.session.scalars(
                select(Challenge).where(Challenge.tender_id == tender.id, Challenge.status == "upheld")
            ):
                upheld.setdefault(ch.award_id, ch)
        return cls(tender, opening, awards, contract, variations, payments, upheld)


def build_release(
    p: Process, release_id: str, date: datetime, tags: list[str], parties=None, **sections
) -> dict:
    """A release of the process: the frame every release shares (ocid, id, date, tags, the buyer and
    the parties) around the given sections (``tender``, ``awards``, ``contracts``), empty values left
    out."""
    release = {
        "ocid": ocid_of(p.tender),
        "id": release_id,
        "date": m.timestamp(date),
        "tag": tags,
        "initiationType": "tender",
        "language": m.LANGUAGE,
        "buyer": agency_ref(p.tender.agency),
        "parties": _unique_parties([agency_party(p.tender.agency, BUYER_ROLES), *(parties or [])]),
        **sections,
    }
    return m.clean(release)


def _unique_parties(parties: list[dict]) -> list[dict]:
    """One entry per party id; a later entry (with more roles) replaces an earlier one in place."""
    by_id: dict[str, dict] = {}
    for party in parties:
        by_id[party["id"]] = party
    return list(by_id.values())
