"""The award stage's releases: the award notice, the award made final when the challenge window
closed, and its cancellation by an upheld challenge."""

from __future__ import annotations

from marketplace.ocds import mapping as m
from marketplace.ocds.parties import org_party, org_ref
from marketplace.ocds.process import Process, build_release, ocid_of
from marketplace.tenders.committee.models import Award


def _award_section(award: Award, status: str) -> dict:
    org = award.bid.organization
    return {
        "id": str(award.id),
        "title": award.tender.title,
        "status": status,
        "date": m.timestamp(award.published_at),  # the award decision, whatever its later status
        "value": m.value(award.bid.price),
        "suppliers": [org_ref(org)],
    }


def award_releases(p: Process) -> list[dict]:
    out = []
    ocid = ocid_of(p.tender)
    tender_id = p.tender.reference or str(p.tender.id)
    for award in p.awards:
        org = award.bid.organization
        supplier = [org_party(org, ["tenderer", "supplier"])]
        out.append(
            build_release(
                p,
                f"{ocid}-award-{award.id}",
                award.published_at,
                ["award"],
                parties=supplier,
                tender={"id": tender_id, "status": "complete"},
                awards=[_award_section(award, "pending")],
            )
        )
        if award.final_at is not None:
            out.append(
                build_release(
                    p,
                    f"{ocid}-award-{award.id}-final",
                    award.final_at,
                    ["awardUpdate"],
                    awards=[_award_section(award, "active")],
                )
            )
        challenge = p.upheld.get(award.id)
        if award.status == "annulled" and challenge is not None and challenge.answered_at is not None:
            # The award falls; the tender is evaluated again (or fails: see the failure release).
            out.append(
                build_release(
                    p,
                    f"{ocid}-award-{award.id}-cancellation",
                    challenge.answered_at,
                    ["awardCancellation"],
                    parties=[org_party(org, ["tenderer"])],
                    tender={"id": tender_id, "status": "active"},
                    awards=[_award_section(award, "cancelled")],
                )
            )
    return out
