"""Forms of the delivery pages. They render, carry the CSRF token and the uploads, and hand the verbs
a plain dict (``record_data``, ``acceptance_data``) that the verbs' load schemas
(``contracts.delivery.schemas``) validate; the field names are the schemas' so messages land next to
the field.

Amounts and quantities are text fields parsed by the schemas (``Decimal``, never float), so "abc",
"NaN" or "1e9" get a clear message instead of a conversion error.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
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

from marketplace.contracts.delivery.records import RecordFilter, communities_for
from marketplace.contracts.delivery.schemas import (
    MAX_REPRESENTATIVES,
    NAME_MAX,
    NOTES_MAX,
    REFERENCE_MAX,
    TEXT_MAX,
)
from marketplace.contracts.labels import LABELS
from marketplace.contracts.models import Contract
from marketplace.core.formfields import DateField
from marketplace.core.templating import money


def _choices(machine: str) -> list[tuple[str, object]]:
    return [(code, label.text) for code, label in LABELS[machine].items()]


class ActionForm(FlaskForm):
    """A button that carries only the CSRF token (accept a milestone)."""

    submit = SubmitField(_l("Accept"))


class ServiceRecordForm(FlaskForm):
    service_date = DateField(
        _l("Service date"), validators=[InputRequired(message=_l("Enter the date of the service."))]
    )
    activity_type = SelectField(
        _l("Activity"),
        choices=[("", _l("— choose —"))] + _choices("activity"),
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


class CorrectionForm(ServiceRecordForm):
    """A record's new values and why they replace the current ones (evidence stays as it was)."""

    documents = None
    reason = TextAreaField(_l("Reason for the correction"), validators=[Length(max=NOTES_MAX)])
    submit = SubmitField(_l("Save the correction"))


class ImportForm(FlaskForm):
    file = FileField(_l("File of service records (.csv or .xlsx)"))
    submit = SubmitField(_l("Check the file"))


class RecordFilterForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    activity = SelectField(
        _l("Activity"), choices=[("", _l("All"))] + _choices("activity"), validators=[Optional()]
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
        choices=_choices("acceptance"),
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


# --- forms with the contract's choices, and the inputs they give the verbs ----------------------------


def record_form(contract: Contract, formdata=True) -> ServiceRecordForm:
    """The service-record form with the contract's targets and the communities of its area."""
    form = ServiceRecordForm() if formdata else ServiceRecordForm(formdata=None)
    form.target_id.choices = [("", _("— none —"))] + [
        (str(t.id), f"{t.name} ({t.unit})") for t in contract.targets
    ]
    form.community_code.choices = [("", _("— none —"))] + [
        (c.code, f"{c.parent.name if c.parent else ''} {c.name}".strip()) for c in communities_for(contract)
    ]
    return form


def correction_form(contract: Contract, record, formdata=True) -> CorrectionForm:
    """The correction form, filled with the record's current values when nothing was posted."""
    form = CorrectionForm() if formdata else CorrectionForm(formdata=None, obj=record)
    choices = record_form(contract, formdata=False)
    form.target_id.choices, form.community_code.choices = (
        choices.target_id.choices,
        choices.community_code.choices,
    )
    if not formdata:
        form.target_id.data = str(record.target_id or "")
        form.community_code.data = record.community_code or ""
        form.quantity.data, form.hours.data = str(record.quantity), str(record.hours)
    return form


def record_data(form: ServiceRecordForm) -> dict:
    """The input of ``log_service_record`` (``RecordInputSchema``)."""
    return {
        "service_date": form.service_date.data,
        "activity_type": form.activity_type.data,
        "target_id": form.target_id.data,
        "quantity": form.quantity.data,
        "beneficiaries": form.beneficiaries.data,
        "hours": form.hours.data,
        "community_code": form.community_code.data,
        "notes": form.notes.data,
    }


def record_filter(contract: Contract, args) -> tuple[RecordFilterForm, RecordFilter]:
    """The records page's filter from the query string (invalid parts are ignored)."""
    form = RecordFilterForm(formdata=args)
    form.target.choices = [("", _("All"))] + [(str(t.id), t.name) for t in contract.targets]
    form.validate()
    target = form.target.data if not form.target.errors else ""
    return form, RecordFilter(
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        activity_type=form.activity.data if not form.activity.errors else None,
        target_id=int(target) if target and str(target).isdigit() else None,
    )


def filter_args(flt: RecordFilter) -> dict:
    """The filter as query-string arguments, for the pagination links."""
    args = {
        "date_from": flt.date_from.isoformat() if flt.date_from else None,
        "date_to": flt.date_to.isoformat() if flt.date_to else None,
        "activity": flt.activity_type or None,
        "target": flt.target_id,
    }
    return {k: v for k, v in args.items() if v}


def acceptance_data(form: AcceptanceForm) -> dict:
    """The input of ``final_acceptance`` (``AcceptanceInputSchema``)."""
    return {
        "result": form.result.data,
        "summary": form.summary.data,
        "representatives": [
            {"name": e.form.name.data, "community": e.form.community.data, "role": e.form.role.data}
            for e in form.representatives
        ],
    }


def payment_form(contract: Contract, formdata=True) -> PaymentForm:
    """The payment form; a payment may be tied to an accepted milestone."""
    form = PaymentForm() if formdata else PaymentForm(formdata=None)
    form.milestone.choices = [("", _("— not tied to a milestone —"))] + [
        (str(m.id), f"{m.deliverable} ({money(m.amount)})") for m in contract.milestones if m.is_accepted
    ]
    return form
