"""One OCDS release per event of a published tender's contracting process.

This is the schema layer of the open data: it decides what is public. It never reads a bid before the
opening record exists, and never publishes people: no contact names, phone numbers or emails, no
committee members, no service-recipient representatives, no clarification askers. Organizations
appear by name and unified social credit code only (both on their public registration certificate).

Each release describes the process as it stood at its event (statuses, deadlines, amounts), so
releases never change once their event has happened and their ids stay stable:

===========================================  ==========================  ==========================
release id                                   tag                         date
===========================================  ==========================  ==========================
``{ocid}-tender-0``                          tender                      publication
``{ocid}-tender-{n}``                        tenderAmendment             amendment n
``{ocid}-opening``                           tenderUpdate                bid opening
``{ocid}-cancellation``                      tenderCancellation          cancellation
``{ocid}-unsuccessful``                      tenderUpdate                failure after the opening
``{ocid}-award-{award id}``                  award                       award notice
``{ocid}-award-{award id}-final``            awardUpdate                 challenge window closed
``{ocid}-award-{award id}-cancellation``     awardCancellation           upheld challenge
``{ocid}-contract-{contract id}``            contract                    both signatures
``{ocid}-contract-{id}-variation-{v id}``    contractAmendment           approved variation
``{ocid}-implementation-{n}``                implementation              nth payment, milestone
                                                                         met, or milestone overdue
``{ocid}-contract-{contract id}-end``        contractTermination         completion or termination
===========================================  ==========================  ==========================
"""

from __future__ import annotations

from marketplace import clock
from marketplace.ocds import mapping as m
from marketplace.ocds.award_releases import award_releases
from marketplace.ocds.contract_releases import contract_releases
from marketplace.ocds.process import Process, is_published
from marketplace.ocds.tender_releases import (
    cancellation_release,
    failure_release,
    opening_release,
    tender_releases,
)
from marketplace.tenders.models import Tender


def releases_for(tender: Tender) -> list[dict]:
    """Every release of a published tender, oldest first. A draft (never published) has none."""
    if not is_published(tender):
        return []
    p = Process.load(tender)
    out = tender_releases(p)
    opening = opening_release(p)
    out.extend([opening] if opening else [])
    out.extend(award_releases(p))
    out.extend(contract_releases(p))
    # Last, so that on a tie of dates (an upheld challenge fails the tender in the same moment it
    # annuls the award) the final tender status wins in the compiled release.
    out.extend(r for r in (cancellation_release(p), failure_release(p)) if r is not None)
    now = m.timestamp(clock.now())
    out = [r for r in out if r["date"] <= now]  # nothing dated in the future (a moved clock)
    return sorted(out, key=lambda r: r["date"])
