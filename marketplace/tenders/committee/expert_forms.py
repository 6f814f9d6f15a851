"""Forms of the expert pool pages and of the draws on the committee page (rendering and CSRF only: the
verbs' load schemas validate), and the committee page's draw section."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Optional

from marketplace.auth.models import Agency, User
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties
from marketplace.core.formfields import DateField
from marketplace.core.labels import states
from marketplace.core.permissions import OFFICER
from marketplace.extensions import db
from marketplace.orgs.models import LISTED_STATUSES, Organization
from marketplace.tenders.committee import expert_draws, members
from marketplace.tenders.committee.experts import evaluators_outside_pool
from marketplace.tenders.committee.models import Expert
from marketplace.tenders.forms import MultiCheckboxField
from marketplace.tenders.models import Tender

# --- the pool ------------------------------------------------------------------------------------------


class ExpertForm(FlaskForm):
    user_id = SelectField(_l("Evaluator account"), validate_choice=False)
    categories = MultiCheckboxField(_l("Categories"), choices=[])
    district_codes = SelectMultipleField(_l("Districts"), choices=[], validate_choice=False)
    employer = StringField(_l("Employer"))
    employer_organization_id = SelectField(
        _l("Employer, when it is a registered organization"), validate_choice=False
    )
    employer_agency_id = SelectField(_l("Employer, when it is a buying agency"), validate_choice=False)
    availability = RadioField(_l("Availability"), choices=[], default="available", validate_choice=False)
    unavailable_until = DateField(_l("Unavailable until (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def input_data(self) -> dict:
        """What the verb loads (its schema checks every field)."""
        return {
            "user_id": self.user_id.data,
            "categories": self.categories.data or [],
            "district_codes": self.district_codes.data or [],
            "employer": self.employer.data or "",
            "employer_organization_id": self.employer_organization_id.data,
            "employer_agency_id": self.employer_agency_id.data,
            "availability": self.availability.data,
            "unavailable_until": self.unavailable_until.data,
        }


def _user_label(user: User) -> str:
    return f"{user.name} <{user.email}>" if user.name else user.email


def expert_form(expert: Expert | None = None, formdata=True) -> ExpertForm:
    """The add form (``expert`` None: the evaluators not in the pool yet) or the edit form, filled."""
    form = ExpertForm() if formdata else ExpertForm(formdata=None)
    none = [("", _("— none —"))]
    form.user_id.choices = [("", _("— choose —"))] + [
        (str(u.id), _user_label(u)) for u in evaluators_outside_pool()
    ]
    form.categories.choices = [(code, str(text)) for code, text in SERVICE_CATEGORIES.items()]
    form.district_codes.choices = [(d.code, f"{d.code} {d.name}") for d in counties()]
    orgs = db.session.scalars(
        select(Organization).where(Organization.status.in_(LISTED_STATUSES)).order_by(Organization.name)
    )
    form.employer_organization_id.choices = none + [(str(o.id), o.name) for o in orgs]
    agencies = db.session.scalars(select(Agency).order_by(Agency.name))
    form.employer_agency_id.choices = none + [(str(a.id), a.name) for a in agencies]
    form.availability.choices = [(k, str(v.text)) for k, v in states("expert_availability").items()]
    if expert is not None and not formdata:
        form.categories.data = list(expert.categories or [])
        form.district_codes.data = [d.code for d in expert.districts]
        form.employer.data = expert.employer
        form.employer_organization_id.data = str(expert.employer_organization_id or "")
        form.employer_agency_id.data = str(expert.employer_agency_id or "")
        form.availability.data = expert.availability
        form.unavailable_until.data = expert.unavailable_until
    return form


class PoolFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name, e-mail or employer"))
    category = SelectField(_l("Category"), validate_choice=False)
    availability = SelectField(_l("Availability"), validate_choice=False)


def pool_filter_form(args) -> PoolFilterForm:
    form = PoolFilterForm(formdata=args)
    form.category.choices = [("", _("All categories"))] + [
        (code, str(text)) for code, text in SERVICE_CATEGORIES.items()
    ]
    form.availability.choices = [("", _("Any availability"))] + [
        (k, str(v.text)) for k, v in states("expert_availability").items()
    ]
    return form


# --- the draws on the committee page -------------------------------------------------------------------


class DrawForm(FlaskForm):
    category = SelectField(_l("Category of the experts"), validate_choice=False)
    experts = IntegerField(_l("Experts to appoint"), validators=[Optional()])
    reserves = IntegerField(_l("Reserves"), validators=[Optional()])
    buyer_rep = SelectField(_l("Buyer's representative (optional)"), validate_choice=False)
    confirm = BooleanField(
        _l("I understand that the draw is recorded and final: the experts drawn are appointed."),
        validators=[DataRequired(message=_l("Tick the box to confirm the draw."))],
    )
    submit = SubmitField(_l("Draw the experts and appoint the committee"))


class ReserveDrawForm(FlaskForm):
    category = SelectField(_l("Category of the experts"), validate_choice=False)
    reserves = IntegerField(_l("Reserves"), validators=[Optional()])
    confirm = BooleanField(
        _l("I understand that the draw is recorded and final."),
        validators=[DataRequired(message=_l("Tick the box to confirm the draw."))],
    )
    submit = SubmitField(_l("Draw reserves"))


class AppointReserveForm(FlaskForm):
    submit = SubmitField(_l("Appoint the next reserve"))


def _category_choices() -> list[tuple[str, str]]:
    return [(code, str(text)) for code, text in SERVICE_CATEGORIES.items()]


def draw_form(tender: Tender, formdata=True) -> DrawForm:
    form = DrawForm() if formdata else DrawForm(formdata=None)
    form.category.choices = _category_choices()
    officers = db.session.scalars(
        select(User)
        .where(User.role == OFFICER, User.agency_id == tender.agency_id, User.active.is_(True))
        .order_by(User.name, User.email)
    )
    form.buyer_rep.choices = [("", _("— none —"))] + [(str(u.id), _user_label(u)) for u in officers]
    if not formdata:
        form.category.data = tender.category
        form.experts.data = members.committee_size(tender)
        form.reserves.data = 2
    return form


def reserve_draw_form(tender: Tender, formdata=True) -> ReserveDrawForm:
    form = ReserveDrawForm() if formdata else ReserveDrawForm(formdata=None)
    form.category.choices = _category_choices()
    if not formdata:
        form.category.data = tender.category
        form.reserves.data = 2
    return form


def draw_section(tender: Tender, failed) -> dict:
    """The committee page's draws: the draw form while the committee is formed, then the reserves
    that replace a withdrawn member (or a further draw of reserves when none is left)."""
    section = {
        "share": members.share_text(tender),
        "expert_draws": expert_draws.draws_of(tender),
        "draw_form": None,
        "next_reserve": None,
        "reserve_form": None,
        "reserve_draw_form": None,
    }
    if members.formation_open(tender):
        section["draw_form"] = failed.form_for("draw") or draw_form(tender, False)
    elif members.needs_replacement(tender):
        reserve = expert_draws.next_reserve(tender)
        section["next_reserve"] = reserve
        if reserve is not None:
            section["reserve_form"] = AppointReserveForm(formdata=None)
        else:
            section["reserve_draw_form"] = failed.form_for("reserve_draw") or reserve_draw_form(tender, False)
    return section
