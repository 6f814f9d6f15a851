"""Organization pages: public directory and profiles, sign-up, the member's own organization,
invitations, and the officers' review and sanction desk."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from marketplace.auth import services as auth_services
from marketplace.core import documents as document_store
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties, streets_of
from marketplace.core.errors import RuleViolation
from marketplace.core.permissions import can, require
from marketplace.core.transaction import abandon, run_verb
from marketplace.core.web import abort_with, apply_violation, get_or_404, page_args
from marketplace.extensions import db, limiter
from marketplace.orgs import labels, services
from marketplace.orgs.forms import (
    DOCUMENT_EXTENSIONS,
    MAX_DOCUMENT_BYTES,
    AcceptInvitationForm,
    DirectoryForm,
    EditForm,
    InviteForm,
    ReasonForm,
    RegistrationForm,
    SanctionForm,
    VerifyForm,
)
from marketplace.orgs.models import STATUSES, Organization, OrgDocument

bp = Blueprint("orgs", __name__, url_prefix="/orgs", template_folder="templates")
bp.record_once(labels.register_filters)


def _status(form) -> int:
    """400 when the form shows errors (field or form-level), else 200."""
    return 400 if form.errors else 200


def _is_listed(org: Organization) -> bool:
    return org.status in services.LISTED_STATUSES and org.verified_at is not None


def _uploads(field) -> list:
    return [f for f in (field.data or []) if getattr(f, "filename", "")]


def _store(file_storage, field_name: str):
    try:
        return document_store.store(file_storage, allowed=DOCUMENT_EXTENSIONS, max_bytes=MAX_DOCUMENT_BYTES)
    except RuleViolation as exc:
        exc.field = field_name
        raise


def _stored_documents(form, certificate_required: bool) -> list:
    docs = []
    certificate = form.registration_certificate.data
    if getattr(certificate, "filename", ""):
        docs.append(("registration_certificate", _store(certificate, "registration_certificate")))
    elif certificate_required:
        raise RuleViolation(
            _("Upload the registration certificate (登记证书)."), field="registration_certificate"
        )
    docs += [("other", _store(f, "documents")) for f in _uploads(form.documents)]
    return docs


def _org_input(form) -> services.OrgInput:
    return services.OrgInput(
        name=form.name.data or "",
        name_en=form.name_en.data or "",
        uscc=form.uscc.data or "",
        org_type=form.org_type.data or "",
        registration_authority=form.registration_authority.data or "",
        registered_district_code=form.registered_district_code.data or "",
        founded_on=form.founded_on.data,
        legal_representative=form.legal_representative.data or "",
        contact_person=form.contact_person.data or "",
        phone=form.phone.data or "",
        email=form.email.data or "",
        categories=list(form.categories.data or []),
        service_area_codes=list(form.service_area_codes.data or []),
        staff_fulltime=form.staff_fulltime.data,
        staff_social_workers=form.staff_social_workers.data,
        annual_inspection=form.annual_inspection.data or "",
        rating=form.rating.data or "",
        small_org_declared=bool(form.small_org_declared.data),
    )


def _fill_from_org(form, org: Organization) -> None:
    data = services.input_from(org)
    for name, value in vars(data).items():
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
        stmt = services.directory_query(form.q.data or "", form.category.data or "", form.area.data or "")
    else:
        stmt = services.directory_query()
    page, per_page = page_args()
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "orgs/index.html", form=form, pagination=pagination, args=args, searched=bool(args)
    ), (200 if valid else 400)


@bp.route("/<int:org_id>")
def profile(org_id: int):
    org = get_or_404(Organization, org_id)
    private = can(current_user, "org.view_private", org)
    if not (_is_listed(org) or private):
        abort(404)  # a registration under review is not public, not even its existence
    return render_template(
        "orgs/profile.html", org=org, private=private, contracts=services.contracts_won(org)
    )


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
    if form.validate_on_submit():
        try:
            docs = _stored_documents(form, certificate_required=True)
            org, user = services.register(
                _org_input(form),
                email=form.account_email.data,
                password=form.password.data,
                name=form.member_name.data,
                documents=docs,
            )
            auth_services.record_login(user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            login_user(user)
            flash(
                _(
                    "%(name)s is registered and waits for review. You will be notified of the outcome.",
                    name=org.name,
                ),
                "success",
            )
            return redirect(url_for("orgs.mine"))
    return render_template("orgs/register.html", form=form), _status(form)


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
        members=services.members(org),
        open_invitations=services.open_invitations(org),
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
    if form.validate_on_submit():
        try:
            docs = _stored_documents(form, certificate_required=False)
            services.update_and_resubmit(org, _org_input(form), current_user)
            for kind, stored in docs:
                services.add_document(org, stored, kind, current_user)
        except RuleViolation as exc:
            abandon()
            apply_violation(form, exc)
        else:
            flash(
                _("Your corrections are saved and the registration is back in the review queue."), "success"
            )
            return redirect(url_for("orgs.mine"))
    return render_template("orgs/edit.html", form=form, org=org), _status(form)


@bp.route("/mine/invitations", methods=["POST"])
@login_required
def invite():
    org = _my_org()
    require(current_user, "org.invite", org)
    form = InviteForm()
    tokens: list[str] = []
    if form.validate_on_submit() and run_verb(
        form,
        lambda: tokens.append(services.invite_member(org, form.email.data, current_user)),
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
    invitation = services.find_invitation(token)
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
        user = services.accept_invitation(token, form.password.data, form.name.data)
        auth_services.record_login(user)
        users.append(user)

    if form.validate_on_submit() and run_verb(form, _accept, default_field="password"):
        login_user(users[0])
        flash(_("Welcome! You are now a member of %(name)s.", name=invitation.organization.name), "success")
        return redirect(url_for("orgs.mine"))
    return render_template("orgs/accept.html", form=form, invitation=invitation), _status(form)


# --- review and sanctions -------------------------------------------------------------------------


@bp.route("/review")
@login_required
def review_index():
    require(current_user, "org.review")
    status = request.args.get("status", "")
    if status not in STATUSES:
        status = ""
    page, per_page = page_args()
    pagination = db.paginate(
        services.review_queue_query(status), page=page, per_page=per_page, error_out=False
    )
    args = {"status": status} if status else {}
    return render_template(
        "orgs/review_index.html",
        pagination=pagination,
        status=status,
        statuses=STATUSES,
        args=args,
        waiting=services.waiting_count(),
    )


def _render_review(org: Organization, **forms):
    defaults = {
        "verify_form": VerifyForm(prefix="verify"),
        "reject_form": ReasonForm(prefix="reject"),
        "info_form": ReasonForm(prefix="info"),
        "suspend_form": SanctionForm(prefix="suspend"),
        "debar_form": SanctionForm(prefix="debar"),
        "reinstate_form": ReasonForm(prefix="reinstate"),
    }
    defaults.update(forms)
    return render_template("orgs/review.html", org=org, private=True, **defaults)


@bp.route("/<int:org_id>/review")
@login_required
def review(org_id: int):
    org = get_or_404(Organization, org_id)
    require(current_user, "org.review", org)
    return _render_review(org)


def _decide(org_id: int, permission: str, form_name: str, make_form, verb, message: str):
    """Load, check permission, run the decision verb as this request's transaction."""
    org = get_or_404(Organization, org_id)
    require(current_user, permission, org)
    form = make_form()
    if form.validate_on_submit() and run_verb(form, lambda: verb(org, form)):
        flash(message, "success")
        return redirect(url_for("orgs.review", org_id=org.id))
    # A rule about the organization's state (not a field) goes on top: its form may not be shown.
    for problem in form.form_errors:
        flash(problem, "danger")
    form.form_errors = []
    return _render_review(org, **{form_name: form}), 400


@bp.route("/<int:org_id>/verify", methods=["POST"])
@login_required
def verify(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "verify_form",
        lambda: VerifyForm(prefix="verify"),
        lambda org, form: services.verify(org, current_user),
        _("The organization is verified and may now bid."),
    )


@bp.route("/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "reject_form",
        lambda: ReasonForm(prefix="reject"),
        lambda org, form: services.reject(org, form.reason.data, current_user),
        _("The registration is rejected; the organization sees your reason."),
    )


@bp.route("/<int:org_id>/request-info", methods=["POST"])
@login_required
def request_info(org_id: int):
    return _decide(
        org_id,
        "org.review",
        "info_form",
        lambda: ReasonForm(prefix="info"),
        lambda org, form: services.request_info(org, form.reason.data, current_user),
        _("The organization is asked for more information."),
    )


@bp.route("/<int:org_id>/suspend", methods=["POST"])
@login_required
def suspend(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "suspend_form",
        lambda: SanctionForm(prefix="suspend"),
        lambda org, form: services.suspend(org, form.until.data, form.reason.data, current_user),
        _("The organization is suspended."),
    )


@bp.route("/<int:org_id>/debar", methods=["POST"])
@login_required
def debar(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "debar_form",
        lambda: SanctionForm(prefix="debar"),
        lambda org, form: services.debar(org, form.until.data, form.reason.data, current_user),
        _("The organization is debarred."),
    )


@bp.route("/<int:org_id>/reinstate", methods=["POST"])
@login_required
def reinstate(org_id: int):
    return _decide(
        org_id,
        "org.sanction",
        "reinstate_form",
        lambda: ReasonForm(prefix="reinstate"),
        lambda org, form: services.reinstate(org, form.reason.data, current_user),
        _("The organization is reinstated."),
    )
