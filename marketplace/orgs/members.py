"""Members of an organization and invitations to join it.

A member invites another person by email; the invitation link carries a random token of which only
the SHA-256 is stored, and works once, for a week.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.auth import services as auth_services
from marketplace.auth.models import User
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.permissions import ORG_MEMBER
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.orgs.models import Invitation, Organization
from marketplace.orgs.schemas import InvitationInputSchema, JoinInputSchema

INVITATION_DAYS = 7
TOKEN_MAX = 200


def members(org: Organization) -> list[User]:
    """The organization's active members, oldest account first."""
    return list(
        db.session.scalars(
            select(User).where(User.organization_id == org.id, User.active.is_(True)).order_by(User.id)
        )
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_member(org: Organization, email: str, actor) -> str:
    """Invite ``email`` to join ``org``; returns the token (only its SHA-256 is stored)."""
    email = load(InvitationInputSchema(), {"email": email})["email"]
    if auth_services.find_user_by_email(email):
        raise RuleViolation(
            _("%(email)s already has an account; each account belongs to one organization.", email=email),
            field="email",
        )
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(
        email=email,
        token_hash=_token_hash(token),
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    invitation.organization = org
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor,
        "org.invite",
        "organization",
        org.id,
        N_("invited %(email)s"),
        {"invitation_id": invitation.id, "expires_at": invitation.expires_at},
        params={"email": email},
    )
    return token


def find_invitation(token: str | None) -> Invitation | None:
    """The open invitation for ``token``: not accepted and not expired (else ``None``)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= clock.now():
        return None
    return invitation


def accept_invitation(token: str, password: str, name: str) -> User:
    invitation = find_invitation(token)
    if invitation is None:
        raise RuleViolation(_("This invitation link is not valid: it was already used or has expired."))
    name = load(JoinInputSchema(), {"name": name})["name"]
    user = auth_services.create_user(email=invitation.email, role=ORG_MEMBER, password=password, name=name)
    user.organization = invitation.organization
    invitation.accepted_at = clock.now()
    db.session.flush()
    audit.record(
        user,
        "org.accept_invitation",
        "organization",
        invitation.organization_id,
        N_("%(email)s joined"),
        {"invitation_id": invitation.id, "user_id": user.id},
        params={"email": user.email},
    )
    return user


def open_invitations(org: Organization) -> list[Invitation]:
    """Invitations of ``org`` not yet accepted and not expired."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > clock.now(),
            )
            .order_by(Invitation.id)
        )
    )
