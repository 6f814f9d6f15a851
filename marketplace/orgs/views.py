"""Organization pages: the public directory and profiles, sign-up, the member's own organization and
invitations. (The officers' review and sanction desk is in ``review_views``.)"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from marketplace.auth import services as auth_services
from marketplace.core import documents as document_store
from marketplace.core import staging
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties, streets_of
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import abort_with, apply_violation, form_status, get_or_404, page_args
from marketplace.extensions import db, limiter
from marketplace.orgs import directory, members, registration
from marketplace.orgs.blueprint import bp
from marketplace.orgs.forms import (
    DOCUMENT_EXTENSIONS,
    MAX_DOCUMENT_BYTES,
    AcceptInvitationForm,
    DirectoryForm,
    EditForm,
    InviteForm,
    RegistrationForm,
)
from marketplace.orgs.models import Organization, OrgDocument


def _store(file_storage):
    return document_store.store(file_storage, allowed=DOCUMENT_EXTENSIONS, max_bytes=MAX_DOCUMENT_BYTES)


def _staged_documents(form) -> tuple[list, list]:
    """The certificate and the other documents of a posted form: kept from an earlier submission that
    failed (core.staging) or uploaded now, checked and stored. A new certificate replaces a kept one."""
    certificate = staging.collect_posted(form, form.registration_certificate, "org-certificate", _store, 2)
    others = staging.collect_posted(form, form.documents, "org-documents", _store)
    return certificate[-1:], others


def _documents(certificate: list, others: list) -> list:
    """As the verbs take them: ``(kind, stored file)``."""
    kept = [("registration_certificate", s.stored) for s in certificate]
    return kept + [("other", s.stored) for s in others]


def _add_rule_problems(form, has_certificate: bool) -> None:
    """Beside the form's own errors, the registration rules' (credit code taken, founding date in the
    future...), so one submission reports everything; a field keeps only its first kind of error."""
    _data, _name, problems = registration.sign_up_problems(
        _org_input(form),
        form.member_name.data or "",
        has_certificate,
        {"email": form.account_email.data or "", "password": form.password.data or ""},
    )
    for name, messages in problems.items():
        field = getattr(form, name, None)
        if field is None or not hasattr(field, "errors"):
            form.form_errors.extend(m for m in messages if m not in form.form_errors)
        elif not field.errors:
            field.errors = list(messages)


def _org_input(form) -> dict:
    """The registration data as the verbs load it: the form's fields carry the schema's names."""
    return dict(form.data)


def _fill_from_org(form, org: Organization) -> None:
    for name, value in registration.input_from(org).items():
        getattr(form, name).data = value


# --- public ---------------------------------------------------------------------------------------


def _area_choices():
    choices = [("", _("All"))]
    for county in counties():
        choices.append((county.code, county.name))
        choices.extend((s.code, f"— {s.name}") for s in streets_of(county.code))
    return choices


@bp.route("")
def index():
    form = DirectoryForm(request.args)
    form.category.choices = [("", _("All"))] + [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()]
    form.area.choices = _area_choices()
    valid = form.validate()
    if valid:
        stmt = directory.directory_query(form.q.data or "", form.category.data or "", form.area.data or "")
    else:
        stmt = directory.directory_query()
    page, per_page = page_args()
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "orgs/index.html", form=form, pagination=pagination, args=args, searched=bool(args)
    ), (200 if valid else 400)


@bp.route("/<int:org_id>")
def profile(org_id: int):
    org = get_or_404(Organization, org_id)
    if not can(current_user, "org.view", org):
        abort(404)  # a registration under review is not public, not even its existence
    return render_template("orgs/profile.html", org=org, private=can(current_user, "org.view_private", org))


@bp.route("/<int:org_id>/documents/<int:doc_id>")
def document(org_id: int, doc_id: int):
    org = get_or_404(Organization, org_id)
    require(current_user, "org.view_private", org)
    doc = get_or_404(OrgDocument, doc_id)
    if doc.organization_id != org.id:
        abort(404)
    return document_store.send(doc)


# --- sign-up --------------------------------------------------------------------------------------


def _registration_limit():
    return current_app.config.get("REGISTRATION_RATE_LIMIT", "30 per hour")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_registration_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        if request.method == "GET" and can(current_user, "org.mine"):
            return redirect(url_for("orgs.mine"))
        abort_with(403, _("You are signed in. Sign out to register a new organization."))
    form = RegistrationForm()
    form.fill_choices()
    valid = form.validate_on_submit()
    certificate, others = _staged_documents(form)
    if form.is_submitted() and (not valid or form.registration_certificate.errors or form.documents.errors):
        _add_rule_problems(form, bool(certificate))  # every error at once: format checks and rules
    elif form.is_submitted():
        try:
            # None when the email has an account already: answered exactly as a new registration, so
            # the form never tells whether an address is registered (its owner gets a mail instead).
            registration.sign_up(
                _org_input(form),
                email=form.account_email.data,
                password=form.password.data,
                name=form.member_name.data,
                documents=_documents(certificate, others),
            )
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            return redirect(url_for("auth.check_email"))
    return render_template(
        "orgs/register.html", form=form, staged_certificate=certificate, staged_documents=others
    ), form_status(form)


# --- the member's own organization ----------------------------------------------------------------


def _my_org() -> Organization:
    if not can(current_user, "org.mine"):
        abort_with(
            403,
            _(
                "Your account does not belong to an organization. Ask a member of your organization to "
                "invite you, or register the organization."
            ),
        )
    return get_or_404(Organization, current_user.organization_id)


def _render_mine(org: Organization, invite_form, invitation_link: str | None = None):
    return render_template(
        "orgs/mine.html",
        org=org,
        private=True,
        invite_form=invite_form,
        invitation_link=invitation_link,
        members=members.members(org),
        open_invitations=members.open_invitations(org),
    )


@bp.route("/mine")
@login_required
def mine():
    org = _my_org()
    return _render_mine(org, InviteForm())


@bp.route("/mine/edit", methods=["GET", "POST"])
@login_required
def edit():
    org = _my_org()
    require(current_user, "org.edit", org)
    form = EditForm()
    form.fill_choices()
    if request.method == "GET":
        _fill_from_org(form, org)
    valid = form.validate_on_submit()
    certificate, others = _staged_documents(form)
    uploads_ok = not (form.registration_certificate.errors or form.documents.errors)
    if (
        valid
        and uploads_ok
        and run_verb(
            form,
            lambda: registration.update_and_resubmit(
                org, _org_input(form), current_user, documents=_documents(certificate, others)
            ),
        )
    ):
        flash(_("Your corrections are saved and the registration is back in the review queue."), "success")
        return redirect(url_for("orgs.mine"))
    return render_template(
        "orgs/edit.html", form=form, org=org, staged_certificate=certificate, staged_documents=others
    ), form_status(form)


@bp.route("/mine/invitations", methods=["POST"])
@login_required
def invite():
    org = _my_org()
    require(current_user, "org.invite", org)
    form = InviteForm()
    tokens: list[str] = []
    if form.validate_on_submit() and run_verb(
        form,
        lambda: tokens.append(members.invite_member(org, form.email.data, current_user)),
        default_field="email",
    ):
        # Shown once, here: only the token's hash is stored. Email delivery comes with the jobs work.
        link = url_for("orgs.accept_invitation", token=tokens[0], _external=True)
        flash(
            _(
                "Invitation created for %(email)s. Send them the link below; it works for 7 days.",
                email=form.email.data.strip().lower(),
            ),
            "success",
        )
        return _render_mine(org, InviteForm(formdata=None), invitation_link=link)
    return _render_mine(org, form), 400


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = members.find_invitation(token)
    if invitation is None:
        abort_with(
            404,
            _(
                "This invitation link is not valid: it was already used or has expired. Ask a member of "
                "the organization for a new one."
            ),
        )
    if current_user.is_authenticated:
        abort_with(
            403,
            _(
                "You are signed in as %(email)s. Sign out, then open the invitation link again.",
                email=current_user.email,
            ),
        )
    form = AcceptInvitationForm()
    users = []

    def _accept():
        user = members.accept_invitation(token, form.password.data, form.name.data)
        auth_services.record_login(user)
        users.append(user)

    if form.validate_on_submit() and run_verb(form, _accept, default_field="password"):
        login_user(users[0])
        flash(_("Welcome! You are now a member of %(name)s.", name=invitation.organization.name), "success")
        return redirect(url_for("orgs.mine"))
    return render_template("orgs/accept.html", form=form, invitation=invitation), form_status(form)
