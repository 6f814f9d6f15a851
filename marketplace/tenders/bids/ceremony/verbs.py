"""The opening ceremony (开标解密): at the opening time the platform contributes its part; the
holders contribute their shares online within the decryption window; with enough of them the tender's
key is rebuilt in memory, every counted bid is decrypted and checked against its receipt, and only
then is the opening record made with the names and prices (电子招标投标办法 arts. 30-31).

A bid that does not decrypt counts as withdrawn (撤回): with this scheme the bidder holds no key, so no
failure is its fault. When the window closes without enough shares, every counted bid counts as
withdrawn and the tender fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import keyring, sealing
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.extensions import db
from marketplace.tenders import procedures
from marketplace.tenders.bids.ceremony import contents, keys
from marketplace.tenders.bids.ceremony.models import TenderKey
from marketplace.tenders.bids.models import SUBMITTED, WITHDRAWN, Bid, BidOpening
from marketplace.tenders.bids.opening import open_bids, opening_time
from marketplace.tenders.bids.submission import lock_tender
from marketplace.tenders.bids.visibility import opening_of
from marketplace.tenders.models import OPEN, Tender
from marketplace.tenders.records import record_text

WITHDRAWN_OUTCOME = "withdrawn"  # 撤回: not the bidder's fault (电子招标投标办法 31)


def window() -> timedelta:
    return timedelta(minutes=max(1, int(current_app.config.get("BID_DECRYPTION_WINDOW_MINUTES", 60))))


def window_end(tender: Tender) -> datetime:
    """When the decryption window closes: the opening time plus ``BID_DECRYPTION_WINDOW_MINUTES``."""
    return opening_time(tender) + window()


def counted_bids(tender: Tender) -> list[Bid]:
    """The bids the opening counts (submitted and re-confirmed after the last amendment)."""
    return list(
        db.session.scalars(
            select(Bid)
            .where(Bid.tender_id == tender.id, Bid.status == SUBMITTED, Bid.needs_reconfirmation.is_(False))
            .order_by(Bid.submitted_at, Bid.id)
        )
    )


def _needs_decryption(tender: Tender) -> bool:
    """Too few bids stay sealed without being decrypted (O87 41)."""
    return len(counted_bids(tender)) >= procedures.profile(tender.method).min_bids


def begin(tender: Tender, actor=None) -> TenderKey | BidOpening:
    """Start the ceremony at the opening time (idempotent): the platform's part is checked and
    contributed. With too few bids there is nothing to decrypt: the opening record is made at once and
    the bids stay sealed. Returns the key, or the opening when it was made."""
    key = keys.key_of(tender)
    if key.ceremony_started_at is not None:
        return key
    if not _needs_decryption(tender):
        return open_bids(tender, actor)
    try:
        keyring.unwrap(key.platform_part)
    except keyring.KeyringError as exc:
        current_app.logger.error(
            "tender %s: the platform's part of the opening key does not unwrap", tender.id
        )
        raise RuleViolation(
            _(
                "The platform's part of the opening key cannot be unwrapped: a wrapping key is missing from "
                "the configuration (docs/bidding.md, key rotation). Tell the administrator."
            )
        ) from exc
    key.ceremony_started_at = clock.now()
    audit.record(
        actor,
        "tender.ceremony_begin",
        "tender",
        tender.id,
        N_("The opening ceremony began: the platform contributed its part; %(k)s officer share(s) needed"),
        {"fingerprint": key.fingerprint, "window_ends": window_end(tender)},
        params={"k": key.threshold},
    )
    return key


def _ready(tender: Tender) -> TenderKey:
    """The locked tender's key, once its opening time has come and before the window closes."""
    if tender.status != OPEN or opening_of(tender) is not None:
        raise RuleViolation(_("The bids of this tender are already opened."))
    key = keys.key_of(tender)
    if key is None:
        raise RuleViolation(_("This tender's bids are not encrypted: they are opened without a ceremony."))
    now = clock.now()
    if now < opening_time(tender):
        raise RuleViolation(_("The opening ceremony starts at the opening time, after the bid deadline."))
    if now >= window_end(tender):
        raise RuleViolation(_("The decryption window has closed."))
    return key


def contribute(tender: Tender, user, passphrase: str) -> BidOpening | None:
    """An officer contributes a share; the one that completes the quorum decrypts the bids and makes
    the opening record (returned)."""
    tender = lock_tender(tender)
    key = _ready(tender)
    row = keys.share_of(key, user)
    if row is None:
        raise RuleViolation(_("You hold no share of this tender's opening key."))
    if row.contributed_at is not None:
        raise RuleViolation(_("You have already contributed your share."))
    started = begin(tender, user)
    if isinstance(started, BidOpening):
        return started
    share = keys.open_share(key, row, user, passphrase)
    now = clock.now()
    row.contribution = keyring.wrap(share)
    row.contributed_at = now
    row.confirmed_at = row.confirmed_at or now
    del share
    contributed = [s for s in key.shares if s.contributed_at is not None]
    audit.record(
        user,
        "tender.opening_share",
        "tender",
        tender.id,
        N_("Contributed a share of the opening key (%(n)s of %(k)s)"),
        params={"n": len(contributed), "k": key.threshold},
    )
    if len(contributed) < key.threshold:
        return None
    return _complete(tender, key, contributed, user)


def _complete(tender: Tender, key: TenderKey, contributed: list, actor) -> BidOpening:
    platform = keyring.unwrap(key.platform_part)
    shares = [(s.position, keyring.unwrap(s.contribution)) for s in contributed[: key.threshold]]
    private = sealing.combine_secret(platform, shares)
    if sealing.b64(sealing.public_key_of(private)) != key.public_key:  # the shares were checked one by one
        raise RuleViolation(_("The shares do not rebuild this tender's opening key."))
    undecrypted = []
    for bid in counted_bids(tender):
        failure = contents.decrypt_bid(tender, bid, private)
        if failure is not None:
            undecrypted.append(_count_as_withdrawn(tender, bid, failure.problem, actor))
    del private, platform, shares
    for s in key.shares:
        s.contribution = None
    key.completed_at = clock.now()
    audit.record(
        actor,
        "tender.ceremony_complete",
        "tender",
        tender.id,
        N_("The opening key was rebuilt and the bids decrypted; %(n)s could not be"),
        {"fingerprint": key.fingerprint, "undecrypted": len(undecrypted)},
        params={"n": len(undecrypted)},
    )
    return open_bids(tender, actor, undecrypted=undecrypted)


def _count_as_withdrawn(tender: Tender, bid: Bid, problem: str, actor, named: bool = True) -> dict:
    """Mark a bid that did not decrypt as withdrawn; its row for the opening record. When no bid was
    decrypted (``named`` False) the record names nobody: names come only with a completed decryption."""
    latest = bid.submissions[-1] if bid.submissions else None
    row = {
        "bid_id": bid.id,
        "organization_id": bid.organization_id,
        "organization": bid.organization.name if named else None,
        "uscc": bid.organization.uscc if named else None,
        "version": bid.version,
        "digest": bid.digest,
        "sealed_sha256": latest.sealed_sha256 if latest else None,
        "problem": problem,
        "outcome": WITHDRAWN_OUTCOME,
    }
    bid.status = WITHDRAWN
    bid.withdrawn_at = clock.now()
    audit.record(
        actor,
        "bid.undecryptable",
        "bid",
        bid.public_id,
        N_("The bid could not be decrypted (%(problem)s): it counts as withdrawn, not through its fault"),
        row,
        tender_id=tender.id,
        params={"problem": problem},
    )
    return row


def expire(tender: Tender) -> BidOpening:
    """The window closed without enough shares: every counted bid counts as withdrawn, the tender fails
    and says why."""
    tender = lock_tender(tender)
    key = keys.key_of(tender)
    undecrypted = [
        _count_as_withdrawn(tender, bid, "no_key", None, named=False) for bid in counted_bids(tender)
    ]
    for s in key.shares:
        s.contribution = None
    key.failed_at = clock.now()
    reason = record_text(
        N_(
            "The opening key was not rebuilt within the decryption window (%(k)s officer share(s) needed, "
            "%(n)s contributed): the %(bids)s encrypted bid(s) count as withdrawn (电子招标投标办法 31)."
        ),
        k=key.threshold,
        n=sum(1 for s in key.shares if s.contributed_at is not None),
        bids=len(undecrypted),
    )
    audit.record(
        None,
        "tender.ceremony_fail",
        "tender",
        tender.id,
        N_("The decryption window closed without enough shares"),
        {"fingerprint": key.fingerprint, "undecrypted": len(undecrypted)},
    )
    return open_bids(tender, None, undecrypted=undecrypted, failure=reason)


def open_if_due(tender: Tender) -> bool:
    """The ``open-bids`` job: open a tender without a key at its opening time; for one with a key,
    begin the ceremony, and fail it when the window has closed. True when something was done."""
    if tender.status != OPEN or clock.now() < opening_time(tender) or opening_of(tender) is not None:
        return False
    key = keys.key_of(tender)
    if key is None:
        open_bids(tender)
        return True
    if key.ceremony_started_at is None and not _needs_decryption(tender):
        begin(lock_tender(tender))  # too few bids: they stay sealed, whenever the job comes (O87 41)
        return True
    if clock.now() >= window_end(tender):
        expire(tender)
        return True
    if key.ceremony_started_at is None:
        begin(lock_tender(tender))
        return True
    return False
