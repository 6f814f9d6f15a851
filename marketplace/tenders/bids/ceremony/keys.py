"""The tender's opening key: made when the tender is published, split between the platform and the
buyer's officers who hold an opening key; officers confirm before the deadline that they can open
their share (docs/bidding.md, "Keys")."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth.models import User
from marketplace.auth.opening_keys import OpeningKey, unlock
from marketplace.core import keyring, sealing
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import OFFICER
from marketplace.extensions import db
from marketplace.tenders.bids.ceremony.models import TenderKey, TenderKeyShare
from marketplace.tenders.models import Tender


def key_of(tender: Tender) -> TenderKey | None:
    return db.session.scalar(select(TenderKey).where(TenderKey.tender_id == tender.id))


def holders_of(agency_id: int) -> list[tuple[User, OpeningKey]]:
    """The agency's active officers with an opening key, in a fixed order."""
    rows = db.session.execute(
        select(User, OpeningKey)
        .join(OpeningKey, OpeningKey.user_id == User.id)
        .where(User.agency_id == agency_id, User.role == OFFICER, User.active.is_(True))
        .order_by(User.id)
    ).all()
    return [(user, key) for user, key in rows]


def threshold_for(holders: int) -> int:
    """How many officers' shares open the bids, with the platform's part: the configured number
    (``BID_OPENING_OFFICERS_REQUIRED``, 2), but never all of several holders, so that one lost share
    is survivable whenever there are two or more."""
    wanted = max(1, int(current_app.config.get("BID_OPENING_OFFICERS_REQUIRED", 2)))
    return max(1, min(wanted, holders - 1)) if holders > 1 else 1


def publication_problem(tender: Tender) -> str | None:
    if not holders_of(tender.agency_id):
        return _(
            "Before a tender is published, at least one officer of the buyer must set up an opening key "
            "(Account → Opening key): the bids are encrypted, and opening them needs an officer's share."
        )
    return None


def on_publication_check(tender: Tender, **_kwargs) -> str | None:
    return publication_problem(tender)


def on_publishing(tender: Tender, actor=None, **_kwargs) -> None:
    make_key(tender, actor)


def share_context(tender_id: int, user_id: int, position: int) -> str:
    return f"marketplace/opening-share/{tender_id}/{user_id}/{position}"


def make_key(tender: Tender, actor) -> TenderKey:
    """The tender's key pair, its private key split and sealed to the holders, then forgotten."""
    holders = holders_of(tender.agency_id)
    problem = publication_problem(tender)
    if problem:
        raise RuleViolation(problem)
    threshold = threshold_for(len(holders))
    private, public = sealing.new_key_pair()
    platform, shares = sealing.split_secret(private, len(holders), threshold)
    key = TenderKey(
        tender_id=tender.id,
        public_key=sealing.b64(public),
        fingerprint=sealing.fingerprint(public),
        threshold=threshold,
        platform_part=keyring.wrap(platform),
        created_at=clock.now(),
    )
    for (user, opening_key), (position, share) in zip(holders, shares, strict=True):
        sealed = sealing.seal(
            share, sealing.unb64(opening_key.public_key), share_context(tender.id, user.id, position)
        )
        key.shares.append(
            TenderKeyShare(
                user_id=user.id,
                position=position,
                key_fingerprint=opening_key.fingerprint,
                sealed_share=sealing.b64(sealed),
                share_digest=sealing.sha256_hex(share),
            )
        )
    db.session.add(key)
    tender.bid_public_key = key.public_key
    del private, platform, shares
    audit.record(
        actor,
        "tender.opening_key",
        "tender",
        tender.id,
        N_("Made the opening key %(fingerprint)s: the platform and %(k)s of %(n)s officers open the bids"),
        {"fingerprint": key.fingerprint, "threshold": threshold, "holders": [u.id for u, _k in holders]},
        params={"fingerprint": key.fingerprint, "k": threshold, "n": len(holders)},
    )
    return key


def share_of(key: TenderKey, user) -> TenderKeyShare | None:
    return next((s for s in key.shares if s.user_id == getattr(user, "id", None)), None)


def open_share(key: TenderKey, row: TenderKeyShare, user, passphrase: str) -> bytes:
    """The officer's share, opened with the passphrase of its opening key; a clear error otherwise."""
    opening_key, private = unlock(user, passphrase)
    if opening_key.fingerprint != row.key_fingerprint:
        raise RuleViolation(
            _(
                "Your share of this tender was sealed to the opening key %(old)s, which you have since "
                "replaced: it cannot be opened. The other holders' shares may still be enough.",
                old=row.key_fingerprint,
            ),
            field="passphrase",
        )
    try:
        share = sealing.unseal(
            sealing.unb64(row.sealed_share), private, share_context(key.tender_id, row.user_id, row.position)
        )
    except sealing.SealError as exc:
        raise RuleViolation(
            _("Your share of this tender is damaged and cannot be opened."), field="passphrase"
        ) from exc
    if sealing.sha256_hex(share) != row.share_digest:
        raise RuleViolation(
            _("Your share of this tender is damaged and cannot be opened."), field="passphrase"
        )
    return share


def confirm_share(tender: Tender, user, passphrase: str) -> TenderKeyShare:
    """The officer shows, before the opening, that the passphrase opens the share (nothing is kept)."""
    key = key_of(tender)
    row = share_of(key, user) if key else None
    if row is None:
        raise RuleViolation(_("You hold no share of this tender's opening key."))
    open_share(key, row, user, passphrase)
    row.confirmed_at = clock.now()
    audit.record(
        user,
        "tender.opening_share_confirm",
        "tender",
        tender.id,
        N_("Confirmed holding a share of the opening key"),
    )
    return row


@dataclass
class KeyStatus:
    """What the tender page says of its opening key."""

    threshold: int
    holders: int
    confirmed: int
    started: bool
    completed: bool
    failed: bool
    officer_view: bool = False  # set by the page: the viewer is one of the buyer's officers
    viewer: bool = False  # set by the page: the viewer may see the ceremony

    @property
    def at_risk(self) -> bool:
        """Fewer holders confirmed their share than the opening needs."""
        return not (self.completed or self.failed) and self.confirmed < self.threshold


def status_of(tender: Tender) -> KeyStatus | None:
    key = key_of(tender)
    if key is None:
        return None
    return KeyStatus(
        threshold=key.threshold,
        holders=len(key.shares),
        confirmed=sum(1 for s in key.shares if s.confirmed_at is not None),
        started=key.ceremony_started_at is not None,
        completed=key.completed_at is not None,
        failed=key.failed_at is not None,
    )
