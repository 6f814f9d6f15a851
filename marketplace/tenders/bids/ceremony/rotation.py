"""Rotating the platform's wrapping key (docs/bidding.md, "Rotating the wrapping key"): every value
wrapped by the platform is wrapped again with the newest configured key, in one transaction, so that
the old key can then be dropped from ``BID_KEY_WRAPPING_KEYS``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from marketplace.audit import log as audit
from marketplace.core import keyring
from marketplace.core.messages import N_
from marketplace.extensions import db
from marketplace.tenders.bids.ceremony.models import TenderKey, TenderKeyShare
from marketplace.tenders.bids.models import BidAttachment

BATCH = 1000


@dataclass
class Rotated:
    platform_parts: int = 0
    contributions: int = 0
    attachment_keys: int = 0


def _rewrap(model, column, counter: str, result: Rotated) -> None:
    attribute = getattr(model, column)
    last = 0
    while True:
        rows = db.session.scalars(
            select(model).where(model.id > last, attribute.is_not(None)).order_by(model.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            setattr(row, column, keyring.rewrap(getattr(row, column)))
        setattr(result, counter, getattr(result, counter) + len(rows))
        last = rows[-1].id
        db.session.flush()
        for row in rows:
            db.session.expunge(row)


def rotate_wrapping_key(actor=None) -> Rotated:
    """Re-wrap every wrapped value with the newest key. Raises keyring.KeyringError (nothing changed:
    the caller's transaction rolls back) when a value opens with none of the configured keys."""
    result = Rotated()
    _rewrap(TenderKey, "platform_part", "platform_parts", result)
    _rewrap(TenderKeyShare, "contribution", "contributions", result)
    _rewrap(BidAttachment, "working_key", "attachment_keys", result)
    audit.record(
        actor,
        "keys.rotate",
        "keyring",
        "bid-wrapping",
        N_("Re-wrapped %(n)s values with the newest wrapping key"),
        {
            "platform_parts": result.platform_parts,
            "contributions": result.contributions,
            "attachment_keys": result.attachment_keys,
        },
        params={"n": result.platform_parts + result.contributions + result.attachment_keys},
    )
    return result
