"""Sessions that can be ended (ASVS 3.3): each session and remember-me cookie carries the account's
``session_version`` (``User.get_id``); :func:`load_user` accepts it only while it is current, so
raising the version ends every session of the account, in every browser, at their next request.
"""

from __future__ import annotations

from marketplace.auth.models import User
from marketplace.extensions import db


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader, for the session and the remember-me cookie alike."""
    ident, _sep, version = (user_id or "").partition(":")
    if not ident.isdigit() or (version and not version.isdigit()):
        return None
    user = db.session.get(User, int(ident))
    if user is None or user.session_version != int(version or 0):
        return None
    return user


def end_all(user: User) -> None:
    """Invalidate every existing session and remember-me cookie of ``user`` (the caller commits)."""
    user.session_version = (user.session_version or 0) + 1
