"""An officer's personal opening key (开标密钥): an X25519 key pair whose private key is locked by a
passphrase only the officer knows. Each tender published by the officer's agency seals a share of
its opening key to it (``tenders.bids.ceremony``); at the opening the officer unlocks it with the
passphrase to contribute the share. The platform stores the locked key and never the passphrase
(docs/bidding.md, "Keys")."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.core import sealing
from marketplace.core.db import UTCDateTime
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import OFFICER
from marketplace.extensions import db


class OpeningKey(db.Model):
    __tablename__ = "opening_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(16), nullable=False)
    # The private key locked by the officer's passphrase (core.sealing.lock_with_passphrase).
    locked_private_key: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def __repr__(self) -> str:
        return f"<OpeningKey {self.user_id} {self.fingerprint}>"


def min_passphrase_length() -> int:
    return int(current_app.config.get("OPENING_PASSPHRASE_MIN_LENGTH", 12))


def opening_key_of(user_id: int) -> OpeningKey | None:
    return db.session.scalar(select(OpeningKey).where(OpeningKey.user_id == user_id))


def _check_passphrase(passphrase: str, field: str = "passphrase") -> None:
    if len(passphrase or "") < min_passphrase_length():
        raise RuleViolation(
            _("The passphrase needs at least %(n)d characters.", n=min_passphrase_length()), field=field
        )
    if len(passphrase) > 200:
        raise RuleViolation(_("The passphrase is too long (at most 200 characters)."), field=field)


def set_up(user, passphrase: str) -> OpeningKey:
    """Make the officer's opening key (or a new one, replacing it: shares sealed to the old key can no
    longer be used, which the page says before)."""
    if user.role != OFFICER or user.agency_id is None:
        raise RuleViolation(_("Only a buyer's officer holds an opening key."))
    _check_passphrase(passphrase)
    private, public = sealing.new_key_pair()
    key = opening_key_of(user.id)
    replaced = key is not None
    if key is None:
        key = OpeningKey(user_id=user.id)
        db.session.add(key)
    key.public_key = sealing.b64(public)
    key.fingerprint = sealing.fingerprint(public)
    key.locked_private_key = sealing.lock_with_passphrase(
        private, passphrase, int(current_app.config.get("OPENING_KEY_SCRYPT_LOG_N", 15))
    )
    key.created_at = clock.now()
    db.session.flush()
    audit.record(
        user,
        "opening_key.replace" if replaced else "opening_key.create",
        "user",
        user.id,
        N_("Replaced the opening key (%(fingerprint)s)")
        if replaced
        else N_("Set up an opening key (%(fingerprint)s)"),
        params={"fingerprint": key.fingerprint},
    )
    return key


def unlock(user, passphrase: str, field: str = "passphrase") -> tuple[OpeningKey, bytes]:
    """The officer's key and its private key, unlocked by ``passphrase`` (a clear error when wrong)."""
    key = opening_key_of(user.id)
    if key is None:
        raise RuleViolation(_("You have no opening key. Set one up first."), field=field)
    try:
        return key, sealing.unlock_with_passphrase(key.locked_private_key, passphrase or "")
    except sealing.SealError as exc:
        if exc.reason == "wrong_passphrase":
            raise RuleViolation(_("That is not the passphrase of your opening key."), field=field) from exc
        raise RuleViolation(_("Your opening key is damaged: set up a new one."), field=field) from exc


def change_passphrase(user, current: str, new: str) -> OpeningKey:
    """Lock the same key with a new passphrase (the shares sealed to it stay usable)."""
    key, private = unlock(user, current, field="current_passphrase")
    _check_passphrase(new, field="new_passphrase")
    key.locked_private_key = sealing.lock_with_passphrase(
        private, new, int(current_app.config.get("OPENING_KEY_SCRYPT_LOG_N", 15))
    )
    db.session.flush()
    audit.record(user, "opening_key.passphrase", "user", user.id, N_("Changed the opening key's passphrase"))
    return key
