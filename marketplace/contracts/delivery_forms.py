"""Forms of the delivery pages. The rules live in ``contracts.delivery``; the forms only parse input
and name their fields after the verbs' ``RuleViolation.field`` so messages land next to the field.

Amounts and quantities are text fields parsed by the verbs (``Decimal``, never float), so "abc",
"NaN" or "1e9" get a clear message instead of a conversion error.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from marketplace.contracts.delivery import (
    ACCEPTANCE_RESULTS,
    ACTIVITY_TYPES,
    MAX_REPRESENTATIVES,
    NAME_MAX,
    NOTES_MAX,
    REFERENCE_MAX,
    TEXT_MAX,
)


class ActionForm(FlaskForm):
    """A button that carries only the CSRF token (accept a milestone)."""

    submit = SubmitField(_l("Accept"))


class ServiceRecordForm(FlaskForm):
    service_date = DateField(
        _l("Service date"), validators=[InputRequired(message=_l("Enter the date of the service."))]
    )
    activity_type = SelectField(
        _l("Activity"),
        choices=[("", _l("— choose —"))] + list(ACTIVITY_TYPES.items()),
        validators=[InputRequired(message=_l("Choose an activity type."))],
    )
    target_id = SelectField(_l("Counts toward target"), validators=[Optional()])
    quantity = StringField(_l("Quantity (in the target's unit)"), default="0", validators=[Length(max=20)])
    beneficiaries = IntegerField(
        _l("Beneficiaries (number of people)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=1_000_000)],
    )
    hours = StringField(_l("Hours"), default="0", validators=[Length(max=12)])
    community_code = SelectField(_l("Community"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=NOTES_MAX)])
    documents = MultipleFileField(_l("Evidence (photos, sign-in sheets)"))
    submit = SubmitField(_l("Log the service"))


class RecordFilterForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    activity = SelectField(
        _l("Activity"), choices=[("", _l("All"))] + list(ACTIVITY_TYPES.items()), validators=[Optional()]
    )
    target = SelectField(_l("Target"), validators=[Optional()])


class ProgressReportForm(FlaskForm):
    period_start = DateField(
        _l("Period from"), validators=[InputRequired(message=_l("Enter the start of the period."))]
    )
    period_end = DateField(
        _l("Period to"), validators=[InputRequired(message=_l("Enter the end of the period."))]
    )
    summary = TextAreaField(_l("Progress"), validators=[Length(max=TEXT_MAX)])
    issues = TextAreaField(_l("Issues and risks"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("File the report"))


class SubmitMilestoneForm(FlaskForm):
    report = TextAreaField(_l("Report on the deliverable"), validators=[Length(max=TEXT_MAX)])
    documents = MultipleFileField(_l("Evidence"))
    submit = SubmitField(_l("Submit for acceptance"))


class RejectMilestoneForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejection"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Reject"))


class RepresentativeEntry(Form):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])
    community = StringField(_l("Community"), validators=[Optional(), Length(max=NAME_MAX * 2)])
    role = StringField(_l("Role"), validators=[Optional(), Length(max=NAME_MAX)])


class AcceptanceForm(FlaskForm):
    result = RadioField(
        _l("Result"),
        choices=list(ACCEPTANCE_RESULTS.items()),
        validators=[InputRequired(message=_l("Choose passed or failed."))],
    )
    summary = TextAreaField(_l("Summary of the acceptance"), validators=[Length(max=TEXT_MAX)])
    representatives = FieldList(
        FormField(RepresentativeEntry),
        label=_l("Service-recipient representatives"),
        min_entries=MAX_REPRESENTATIVES,
        max_entries=MAX_REPRESENTATIVES,
    )
    submit = SubmitField(_l("Record and publish the acceptance"))


class PaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[InputRequired(message=_l("Enter the payment date."))])
    amount = StringField(_l("Amount (yuan)"), validators=[Length(max=30)])
    reference = StringField(_l("Payment reference (voucher number)"), validators=[Length(max=REFERENCE_MAX)])
    milestone = SelectField(_l("For milestone"), validators=[Optional()])
    submit = SubmitField(_l("Record the payment"))
