"""The organizations blueprint (``/orgs``). Its routes live in ``views`` (directory, profiles, sign-up,
the member's own organization, invitations) and ``review_views`` (the officers' review and sanction
desk)."""

from flask import Blueprint

from marketplace.orgs import labels

bp = Blueprint("orgs", __name__, url_prefix="/orgs", template_folder="templates")
bp.record_once(labels.register_filters)
