"""Demo organizations: ten social organizations in Dongcheng, created through the verbs.

``load_demo_orgs(reviewer)`` runs inside the caller's app context and transaction (the caller commits).
Members are org1@example.org … org10@example.org with the demo password.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

from werkzeug.datastructures import FileStorage

from marketplace import clock
from marketplace.core import documents as document_store
from marketplace.core.timeutil import local_date
from marketplace.demo.accounts import COUNTY, PASSWORD
from marketplace.orgs import registration, review, sanctions
from marketplace.orgs.models import Organization
from marketplace.orgs.uscc import with_check_character

TYPE_PREFIX = {"social_group": "51", "social_service_agency": "52", "foundation": "53"}

# (name, English name, type, categories, service areas, full-time staff, social workers, rating,
#  small-organization declaration, state). Enough verified organizations share the common categories
# and serve the whole district that demo tenders can draw three eligible bids.
ORGANIZATIONS = [
    (
        "东城区夕阳红养老服务中心",
        "Dongcheng Sunset Elderly Care Centre",
        "social_service_agency",
        ["elderly_care", "social_work", "disability", "public_health"],
        [COUNTY],
        32,
        12,
        "5A",
        False,
        "verified",
    ),
    (
        "东城区启明星儿童发展中心",
        "Morning Star Child Development Centre",
        "social_service_agency",
        ["childcare", "minors_youth", "education"],
        ["110101003", "110101006", "110101008"],
        18,
        6,
        "4A",
        False,
        "verified",
    ),
    (
        "东城区助残服务协会",
        "Dongcheng Disability Support Association",
        "social_group",
        ["disability", "employment", "elderly_care"],
        [COUNTY],
        11,
        4,
        "4A",
        True,
        "verified",
    ),
    (
        "东城区社区健康促进会",
        "Community Health Promotion Society",
        "social_group",
        ["public_health", "elderly_care", "disability"],
        [COUNTY],
        9,
        2,
        "3A",
        True,
        "verified",
    ),
    (
        "东城区同心社会工作事务所",
        "Tongxin Social Work Agency",
        "social_service_agency",
        [
            "social_work",
            "social_assistance",
            "community_correction",
            "minors_youth",
            "childcare",
            "public_health",
        ],
        [COUNTY],
        25,
        19,
        "5A",
        False,
        "verified",
    ),
    (
        "东城区安居就业服务中心",
        "Anju Employment Services Centre",
        "social_service_agency",
        ["employment", "veterans", "elderly_care"],
        ["110101005", "110101007", "110101009"],
        14,
        5,
        "3A",
        True,
        "verified",
    ),
    (
        "北京东城法律援助与调解促进会",
        "Dongcheng Legal Aid and Mediation Society",
        "social_group",
        ["legal_services", "mediation", "community_governance"],
        [COUNTY],
        7,
        1,
        "3A",
        True,
        "verified",
    ),
    (
        "东城区青少年成长基金会",
        "Dongcheng Youth Growth Foundation",
        "foundation",
        ["minors_youth", "education", "sports"],
        [COUNTY],
        6,
        2,
        "none",
        False,
        "pending",
    ),
    (
        "东城区邻里志愿服务中心",
        "Neighbourhood Volunteer Service Centre",
        "social_service_agency",
        ["volunteer_services", "community_governance", "public_culture"],
        ["110101004"],
        5,
        1,
        "none",
        True,
        "info_requested",
    ),
    (
        "东城区康乐家园服务社",
        "Kangle Home Services",
        "social_service_agency",
        ["elderly_care", "disability"],
        ["110101002"],
        8,
        2,
        "3A",
        True,
        "debarred",
    ),
]


def demo_code(org_type: str, n: int) -> str:
    """A valid credit code for the n-th demo organization (civil affairs, registered in Dongcheng)."""
    return with_check_character(f"{TYPE_PREFIX[org_type]}{COUNTY}MJ{n:07d}")


def _certificate(name: str) -> FileStorage:
    """A small in-memory PDF-like file standing in for a scanned registration certificate."""
    body = f"%PDF-1.4\n% demo registration certificate\n% {name}\n%%EOF\n".encode()
    return FileStorage(
        stream=io.BytesIO(body), filename="registration-certificate.pdf", content_type="application/pdf"
    )


def _org_input(n: int, row: tuple) -> dict:
    """The n-th demo organization's registration data (``row`` from ORGANIZATIONS)."""
    name, name_en, org_type, categories, areas, staff, workers, rating, small, state = row
    return {
        "name": name,
        "name_en": name_en,
        "uscc": demo_code(org_type, n),
        "org_type": org_type,
        "registration_authority": "北京市东城区民政局",
        "registered_district_code": COUNTY,
        "founded_on": date(2008 + n, n, 10 + n),
        "legal_representative": f"法人代表{n}",
        "contact_person": f"联系人{n}",
        "phone": f"010-6512{n:04d}",
        "email": f"contact{n}@example.org",
        "categories": categories,
        "service_area_codes": areas,
        "staff_fulltime": staff,
        "staff_social_workers": workers,
        "annual_inspection": "qualified" if state != "pending" else "not_yet_inspected",
        "rating": rating,
        "small_org_declared": small,
    }


def _take_to_state(org: Organization, state: str, reviewer) -> None:
    """Review (and sanction) a freshly registered organization into its demo state."""
    if state in ("verified", "debarred"):
        review.verify(org, reviewer)
    if state == "info_requested":
        review.request_info(
            org,
            "请上传最近一次年检结论和章程。/ "
            "Please upload the latest annual inspection result and the articles.",
            reviewer,
        )
    if state == "debarred":
        sanctions.debar(
            org,
            local_date(clock.now()) + timedelta(days=182),
            "履约评价为差，且未按合同提供服务。/ Rated poor and failed to deliver the contracted services.",
            reviewer,
        )


def load_demo_orgs(reviewer) -> list[Organization]:
    """Register ten organizations and take them to their demo states; returns them in order."""
    orgs = []
    for n, row in enumerate(ORGANIZATIONS, start=1):
        name, state = row[0], row[-1]
        stored = document_store.store(_certificate(name), allowed={"pdf"})
        org, _user = registration.register(
            _org_input(n, row),
            email=f"org{n}@example.org",
            password=PASSWORD,
            name=f"机构成员{n} Member {n}",
            documents=[("registration_certificate", stored)],
        )
        _take_to_state(org, state, reviewer)
        orgs.append(org)
    return orgs
