"""Forms of the contract pages. They render and carry the CSRF token; ``contract_data`` and
``variation_data`` hand the verbs a plain dict that their load schemas (``contracts.schemas``)
validate. Field names are the schemas', so messages land next to the right field.

The draft form has a fixed number of target and milestone rows (blank rows are ignored), so it works
without JavaScript; saving shows the rows again with a few blank ones to add more.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from marketplace.contracts.labels import LABELS
from marketplace.contracts.terms import SCOPE_MAX, TEXT_MAX
from marketplace.core.errors import RuleViolation
from marketplace.core.formfields import DateField, DecimalField

TARGET_ROWS, TARGET_MAX = 5, 20
MILESTONE_ROWS, MILESTONE_MAX = 8, 24
NEW_MILESTONE_ROWS = 3


def _finite(form, field):
    """Decimal('NaN') and 'Infinity' parse; they are not amounts."""
    if isinstance(field.data, Decimal) and not field.data.is_finite():
        raise ValidationError(_l("Enter a number."))


def kind_choices():
    return [(kind, label.text) for kind, label in LABELS["milestone_kind"].items()]


class ActionForm(FlaskForm):
    """A button that carries only the CSRF token (sign)."""

    submit = SubmitField(_l("Submit"))


class SignForm(FlaskForm):
    """A signature; past the signing deadline it needs a reason (GPL 46)."""

    late_reason = TextAreaField(_l("Reason for the late signature"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Sign the contract"))


class TargetRow(Form):
    name = StringField(_l("Service target"), validators=[Optional(), Length(max=200)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=40)])
    quantity = DecimalField(_l("Quantity"), validators=[Optional(), _finite])

    def is_blank(self) -> bool:
        return (
            not (self.name.data or "").strip()
            and not (self.unit.data or "").strip()
            and not _raw(self.quantity)
        )

    def is_complete(self) -> bool:
        return bool(
            (self.name.data or "").strip()
            and (self.unit.data or "").strip()
            and self.quantity.data is not None
        )


class NewMilestoneRow(Form):
    """A milestone row of a variation; the draft contract's rows add the final-acceptance box."""

    deliverable = StringField(_l("Deliverable"), validators=[Optional(), Length(max=300)])
    kind = SelectField(_l("Kind"), choices=kind_choices, default="delivery")
    due_date = DateField(_l("Due date"), validators=[Optional()])
    amount = DecimalField(_l("Amount (yuan)"), validators=[Optional(), _finite])

    def is_blank(self) -> bool:
        return not (self.deliverable.data or "").strip() and not _raw(self.due_date) and not _raw(self.amount)

    def is_complete(self) -> bool:
        return bool(
            (self.deliverable.data or "").strip() and self.due_date.data and self.amount.data is not None
        )


class MilestoneRow(NewMilestoneRow):
    is_final = BooleanField(_l("Final acceptance"))

    def is_blank(self) -> bool:
        return super().is_blank() and not self.is_final.data


def _raw(field) -> str:
    return str(field.raw_data[0]).strip() if field.raw_data else ""


def _filled_rows(entries, message, field: str):
    """The rows of a FieldList that are not blank; a half-filled row is a ``RuleViolation``
    (``message(n)`` for row ``n``, shown on ``field``)."""
    for n, entry in enumerate(entries, 1):
        row = entry.form
        if row.is_blank():
            continue
        if not row.is_complete():
            raise RuleViolation(message(n), field=field)
        yield row


class ContractForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    term_start = DateField(_l("First day of the term"), validators=[InputRequired()])
    term_end = DateField(_l("Last day of the term"), validators=[InputRequired()])
    term_justification = TextAreaField(
        _l("Justification (required for a term longer than 12 months, at most 36)"),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    scope = TextAreaField(_l("Scope of the service"), validators=[Optional(), Length(max=SCOPE_MAX)])
    targets = FieldList(FormField(TargetRow), min_entries=TARGET_ROWS, max_entries=TARGET_MAX)
    milestones = FieldList(FormField(MilestoneRow), min_entries=MILESTONE_ROWS, max_entries=MILESTONE_MAX)
    submit = SubmitField(_l("Save the draft"))

    def contract_data(self) -> dict:
        """The input of ``draft_contract`` / ``update_draft`` (``ContractInputSchema``) with the filled
        rows; a half-filled row is a ``RuleViolation``."""
        targets = [
            {"name": row.name.data, "unit": row.unit.data, "quantity": row.quantity.data}
            for row in _filled_rows(
                self.targets,
                lambda n: _(
                    "Target row %(n)d: fill in the target, the unit and the quantity, or leave the "
                    "row empty.",
                    n=n,
                ),
                "targets",
            )
        ]
        milestones = [
            {
                "deliverable": row.deliverable.data,
                "due_date": row.due_date.data,
                "amount": row.amount.data,
                "kind": row.kind.data,
                "is_final": bool(row.is_final.data),
            }
            for row in _filled_rows(
                self.milestones,
                lambda n: _(
                    "Milestone row %(n)d: fill in the deliverable, the due date and the amount, or leave "
                    "the row empty.",
                    n=n,
                ),
                "milestones",
            )
        ]
        return {
            "title": self.title.data,
            "term_start": self.term_start.data,
            "term_end": self.term_end.data,
            "term_justification": self.term_justification.data,
            "scope": self.scope.data,
            "targets": targets,
            "milestones": milestones,
        }


class _VariationBase(FlaskForm):
    reason = TextAreaField(_l("Reason for the change"), validators=[Length(max=TEXT_MAX)])
    value = DecimalField(_l("New contract value (yuan)"), validators=[Optional(), _finite])
    term_end = DateField(_l("New last day of the term"), validators=[Optional()])
    term_justification = TextAreaField(
        _l("Justification (a term longer than 12 months)"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    milestones = FieldList(FormField(NewMilestoneRow), min_entries=NEW_MILESTONE_ROWS, max_entries=10)
    submit = SubmitField(_l("Request the variation"))

    changeable: list = []

    def variation_data(self) -> dict:
        """The input of ``request_variation`` (``VariationRequestSchema``): the milestones whose amount
        or due date changed, and the filled new rows; a half-filled row is a ``RuleViolation``."""
        changes = []
        for m in self.changeable:
            amount = getattr(self, f"amount_{m.id}").data
            due = getattr(self, f"due_{m.id}").data
            if (amount is not None and amount != m.amount) or (due is not None and due != m.due_date):
                changes.append({"id": m.id, "amount": amount, "due_date": due})
        changes += [
            {
                "id": None,
                "amount": row.amount.data,
                "due_date": row.due_date.data,
                "deliverable": row.deliverable.data,
                "kind": row.kind.data,
            }
            for row in _filled_rows(
                self.milestones,
                lambda n: _(
                    "New milestone row %(n)d: fill in the deliverable, the due date and the amount, or "
                    "leave the row empty.",
                    n=n,
                ),
                "milestones",
            )
        ]
        return {
            "reason": self.reason.data,
            "value": self.value.data,
            "term_end": self.term_end.data,
            "term_justification": self.term_justification.data,
            "milestones": changes,
        }


def variation_form_class(milestones):
    """The base form plus a new amount and due date for each milestone that may still change."""

    class VariationForm(_VariationBase):
        pass

    VariationForm.changeable = list(milestones)
    for m in milestones:
        setattr(
            VariationForm,
            f"amount_{m.id}",
            DecimalField(_l("Amount (yuan)"), validators=[Optional(), _finite]),
        )
        setattr(VariationForm, f"due_{m.id}", DateField(_l("Due date"), validators=[Optional()]))
    return VariationForm


class DecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve the variation")), ("reject", _l("Reject the variation"))],
        validators=[InputRequired(message=_l("Choose whether to approve or reject."))],
    )
    note = TextAreaField(_l("Note (required when rejecting)"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Record the decision"))


class TerminateForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the termination"), validators=[Length(max=TEXT_MAX)])
    amount_paid = DecimalField(_l("Amount paid in all (yuan)"), validators=[InputRequired(), _finite])
    confirm = BooleanField(
        _l("I understand that the termination is final."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Terminate the contract"))


class DocumentForm(FlaskForm):
    document = FileField(_l("Document"), validators=[FileRequired(message=_l("Choose a file."))])
    public = BooleanField(_l("Publish with the contract summary"))
    submit = SubmitField(_l("Upload"))
