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
from marketplace.tenders.bids.submission import (
    ATTACHMENT_TYPES,
    required_declarations,
    save_draft,
    submit,
)
from tests.factories import PASSWORD

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


def attachment(name: str, payload: bytes):
    return store(
        FileStorage(stream=io.BytesIO(payload), filename=name, content_type="application/pdf"),
        allowed=ATTACHMENT_TYPES,
    )


def submitted_bid(tender, org, member, price="300000.00", marker="", files=()):
    bid = save_draft(
        tender, org, bid_input(tender, price, marker), member, [attachment(n, p) for n, p in files]
    )
    receipt = submit(bid, member)
    db.session.flush()
    return bid, receipt
