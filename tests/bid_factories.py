"""Organizations and bids for the bidding tests (organizations are made directly, already verified)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from marketplace import clock
from marketplace.auth import services as auth_services
from marketplace.core.districts import District
from marketplace.core.documents import store
from marketplace.extensions import db
from marketplace.orgs.models import VERIFIED, Organization
from marketplace.orgs.uscc import with_check_character
from marketplace.tenders.bids.ceremony import contents, keys, verbs
from marketplace.tenders.bids.models import BidOpening
from marketplace.tenders.bids.opening import open_bids
from marketplace.tenders.bids.submission import (
    ATTACHMENT_TYPES,
    lock_tender,
    required_declarations,
    save_draft,
    submit,
)
from marketplace.tenders.bids.visibility import opening_of
from tests.factories import OPENING_PASSPHRASE, PASSWORD

_counter = iter(range(1, 10_000))


def organization(
    name: str,
    *,
    status: str = VERIFIED,
    categories=("elderly_care",),
    areas=("110101",),
    small: bool = False,
    member_email: str | None = None,
):
    n = next(_counter)
    org = Organization(
        name=name,
        uscc=with_check_character(f"52110101MJ{n:07d}"),
        org_type="social_service_agency",
        registration_authority="东城区民政局",
        registered_district_code="110101",
        founded_on=date(2015, 5, 1),
        legal_representative="张三",
        contact_person="李四",
        phone="010-1",
        email=f"org{n}@test.org",
        categories=list(categories),
        staff_fulltime=12,
        staff_social_workers=5,
        annual_inspection="qualified",
        rating="4A",
        small_org_declared=small,
        status=status,
        submitted_at=clock.now(),
        verified_at=clock.now() if status == VERIFIED else None,
    )
    org.service_areas = list(db.session.scalars(select(District).where(District.code.in_(list(areas)))))
    db.session.add(org)
    db.session.flush()
    member = auth_services.create_user(
        email=member_email or f"member{n}@test.org", role="org_member", password=PASSWORD
    )
    member.organization_id = org.id
    db.session.flush()
    return org, member


def bid_input(tender, price="300000.00", marker="", **overrides) -> dict:
    data = dict(
        price=Decimal(price),
        responses={c.id: f"{c.name} response {marker}" for c in tender.technical_criteria},
        declarations=list(required_declarations(tender)),
    )
    data.update(overrides)
    return data


def attachment(name: str, payload: bytes, tender=None):
    """A stored upload: encrypted when ``tender`` has an opening key (as the bid page stores it)."""
    upload = FileStorage(stream=io.BytesIO(payload), filename=name, content_type="application/pdf")
    if tender is not None and contents.is_sealed_tender(tender):
        return contents.store_attachment(tender, upload, ATTACHMENT_TYPES)
    return store(upload, allowed=ATTACHMENT_TYPES)


def submitted_bid(tender, org, member, price="300000.00", marker="", files=()):
    bid = save_draft(
        tender, org, bid_input(tender, price, marker), member, [attachment(n, p, tender) for n, p in files]
    )
    receipt = submit(bid, member)
    db.session.flush()
    return bid, receipt


def open_sealed(tender, actor=None, holders=None):
    """Open a tender's bids as the opening ceremony does: the platform's part, then the shares of
    ``holders`` (default: as many holders as the key needs), each with the tests' passphrase. A tender
    without an opening key is opened directly. Returns the opening record (None while shares are
    missing)."""
    key = keys.key_of(tender)
    if key is None or opening_of(tender) is not None:
        return open_bids(tender, actor)
    started = verbs.begin(lock_tender(tender), actor)
    if isinstance(started, BidOpening):
        return started
    opening = None
    chosen = holders if holders is not None else [s.user for s in key.shares[: key.threshold]]
    for user in chosen:
        opening = verbs.contribute(tender, user, OPENING_PASSPHRASE)
    db.session.flush()
    return opening


def open_if_due(tender) -> bool:
    """What the ``open-bids`` job does at the opening time (ceremony.verbs.open_if_due), followed by
    the officers' shares when it began a ceremony. True when it did something."""
    if not verbs.open_if_due(tender):
        return False
    open_sealed(tender)
    return True
