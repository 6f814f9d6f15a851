"""The platform's wrapping keys: what protects the platform's part of every tender key and the
keys of bid drafts' attachments (docs/bidding.md, "Keys").

``BID_KEY_WRAPPING_KEYS`` lists Fernet keys, newest first: new wraps use the first, unwrapping tries
each. Rotation: put a new key first, run ``flask keys rotate`` (every wrapped value re-wrapped with
it), then drop the old key. Outside production, with no keys configured, one is derived from
``SECRET_KEY``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class KeyringError(Exception):
    """A wrapped value that none of the configured keys opens (a key was dropped too early, or the
    value was altered)."""


def configured_keys(config) -> list[str]:
    keys = config.get("BID_KEY_WRAPPING_KEYS") or []
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    if keys:
        return list(keys)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bid-key-wrapping").derive(
        str(config["SECRET_KEY"]).encode()
    )
    return [base64.urlsafe_b64encode(derived).decode()]


def check_keys(keys: list[str]) -> None:
    """Raise ValueError naming the first key that is not a Fernet key."""
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"BID_KEY_WRAPPING_KEYS: key {position} is not a Fernet key") from exc


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in configured_keys(current_app.config)])


def wrap(secret: bytes) -> str:
    return _fernet().encrypt(secret).decode("ascii")


def unwrap(token: str) -> bytes:
    try:
        return _fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, AttributeError) as exc:
        raise KeyringError("no configured wrapping key opens this value") from exc


def rewrap(token: str) -> str:
    """``token`` wrapped again with the newest key (unchanged content)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise KeyringError("no configured wrapping key opens this value") from exc


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")
