from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.core.catalogue import FUNDING_SOURCES, SERVICE_CATEGORIES
from marketplace.core.formfields import DateField, DateTimeLocalField, DecimalField
from marketplace.tenders.procedures import EVALUATION_METHODS, PROFILES

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
# Fields of a form that are not part of its verb's input.
_NOT_INPUT = {"csrf_token", "submit", "documents"}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def budget_field() -> DecimalField:
    return DecimalField(
        _l("Budget ceiling (yuan)"),
        places=2,
        validators=[
            InputRequired(),
            NumberRange(
                min=0.01,
                max=1_000_000_000,
                message=_l("Enter an amount between 0.01 and 1,000,000,000 yuan."),
            ),
        ],
    )


class CriterionForm(Form):
    name = StringField(_l("Criterion"), validators=[Optional(), Length(max=200)])
    weight = IntegerField(_l("Weight"), validators=[Optional(), NumberRange(min=1, max=100)])
    description = StringField(_l("What the committee looks at"), validators=[Optional(), Length(max=2000)])


class TenderForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        _l("Description of the service"), validators=[DataRequired(), Length(max=20000)]
    )
    category = SelectField(_l("Service category"), validators=[DataRequired()])
    district_code = SelectField(_l("District"), validators=[DataRequired()])
    service_area_codes = SelectMultipleField(_l("Service area (streets)"), validators=[Optional()])
    method = SelectField(_l("Procurement method"), validators=[DataRequired()])
    evaluation_method = SelectField(_l("Evaluation method"), validators=[DataRequired()])
    budget_ceiling = budget_field()
    funding_sources = MultiCheckboxField(_l("Funding sources"), validators=[DataRequired()])
    contract_term_months = IntegerField(
        _l("Contract term (months)"), validators=[InputRequired(), NumberRange(min=1, max=36)], default=12
    )
    eligibility = TextAreaField(_l("Eligibility requirements"), validators=[Optional(), Length(max=20000)])
    reserved_for_small = BooleanField(_l("Reserved for small and micro organizations"))
    bonds_waived = BooleanField(
        _l("No bid bond and no performance bond"),
        default=lambda: bool(current_app.config["BONDS_WAIVED_BY_DEFAULT"]),
    )
    bid_deadline = DateTimeLocalField(
        _l("Bid deadline and opening time"), format=DATETIME_FORMATS, validators=[InputRequired()]
    )
    price_weight = IntegerField(
        _l("Price weight"), validators=[InputRequired(), NumberRange(min=1, max=100)], default=30
    )
    criteria = FieldList(FormField(CriterionForm), min_entries=6, max_entries=12)
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    contact_email = StringField(_l("Contact email"), validators=[Optional(), Email(), Length(max=254)])
    documents = MultipleFileField(_l("Tender documents"))
    submit = SubmitField(_l("Save draft"))

    def input(self) -> dict:
        """The form's data as the draft verbs' input (``TenderInputSchema``); blank criterion rows are
        left out."""
        raw = {name: field.data for name, field in self._fields.items() if name not in _NOT_INPUT}
        raw["criteria"] = [c for c in self.criteria.data if (c["name"] or "").strip() or c["weight"]]
        return raw

    def fill_choices(self, county_choices, street_choices):
        self.category.choices = [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()]
        self.method.choices = [(k, str(p.label)) for k, p in PROFILES.items()]
        self.evaluation_method.choices = [(k, str(v)) for k, v in EVALUATION_METHODS.items()]
        self.funding_sources.choices = [(k, str(v)) for k, v in FUNDING_SOURCES.items()]
        self.district_code.choices = county_choices
        self.service_area_codes.choices = street_choices


class PublishForm(FlaskForm):
    confirm_not_excluded = BooleanField(
        _l(
            "I confirm this service is not excluded from government purchase (MOF Order 102, art. "
            "10): it is not a duty "
            "the government must perform itself, not goods or works, not financing, not hiring the "
            "agency's own staff, labour dispatch or public-welfare posts."
        )
    )
    submit = SubmitField(_l("Publish"))


class AmendForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=2000)])
    description = TextAreaField(
        _l("Description of the service"), validators=[DataRequired(), Length(max=20000)]
    )
    budget_ceiling = budget_field()
    contract_term_months = IntegerField(
        _l("Contract term (months)"), validators=[InputRequired(), NumberRange(min=1, max=36)]
    )
    bid_deadline = DateTimeLocalField(
        _l("Bid deadline and opening time"), format=DATETIME_FORMATS, validators=[InputRequired()]
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    contact_email = StringField(_l("Contact email"), validators=[Optional(), Email(), Length(max=254)])
    documents = MultipleFileField(_l("Additional documents"))
    substantive = RadioField(
        _l("Could this change affect bids?"),
        choices=[
            ("yes", _l("Yes: substantive (at least 15 days before the deadline; bidders re-confirm)")),
            ("no", _l("No: contact details or a typo (the deadline does not move)")),
        ],
        default="yes",
        validators=[Optional()],  # left out: substantive, the safe reading
    )
    submit = SubmitField(_l("Publish amendment"))

    def input(self) -> dict:
        """The form's data as the amendment's input (``AmendmentInputSchema``); an emptied contact
        field clears it."""
        raw = {name: field.data for name, field in self._fields.items() if name not in _NOT_INPUT}
        for name in ("contact_name", "contact_phone", "contact_email"):
            raw[name] = raw[name] or ""
        raw["substantive"] = self.substantive.data != "no"
        return raw


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for cancelling"), validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField(
        _l("I understand that cancelling cannot be undone."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Cancel the tender"))


class QuestionForm(FlaskForm):
    question = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Send question"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=20000)])
    changes_documents = BooleanField(
        _l("This answer changes the tender documents: publish it as an amendment (15-day rule)")
    )
    bid_deadline = DateTimeLocalField(
        _l("New bid deadline (when fewer than 15 days remain)"),
        format=DATETIME_FORMATS,
        validators=[Optional()],
    )
    submit = SubmitField(_l("Publish answer"))

    def input(self) -> dict:
        return {
            "answer": self.answer.data,
            "changes_documents": bool(self.changes_documents.data),
            "bid_deadline": self.bid_deadline.data,
        }


class DocumentUploadForm(FlaskForm):
    document = FileField(_l("Document"), validators=[DataRequired()])
    submit = SubmitField(_l("Upload"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Remove"))


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("Category"), validators=[Optional()])
    district = SelectField(_l("District or street"), validators=[Optional()])
    method = SelectField(_l("Method"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    budget_min = DecimalField(
        _l("Budget from"), validators=[Optional(), NumberRange(min=0, max=1_000_000_000)]
    )
    budget_max = DecimalField(_l("Budget to"), validators=[Optional(), NumberRange(min=0, max=1_000_000_000)])
    deadline_from = DateField(_l("Deadline from"), validators=[Optional()])
    deadline_to = DateField(_l("Deadline to"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), validators=[Optional()])


class DrawForm(FlaskForm):
    """A random draw from the qualified pool (the verb's schema validates the number)."""

    count = IntegerField(_l("How many organizations to draw"), validators=[Optional()], default=3)
    submit = SubmitField(_l("Draw at random"))


class RecommendForm(FlaskForm):
    """A written recommendation of one organization of the qualified pool."""

    organization_id = SelectField(_l("Organization"), validate_choice=False, validators=[Optional()])
    recommended_by = StringField(_l("Recommended by"), validators=[Optional(), Length(max=200)])
    reason = TextAreaField(_l("Written reason"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Invite on this recommendation"))


class RemoveInvitationForm(FlaskForm):
    submit = SubmitField(_l("Remove the invitation"))
