"""Forms of the evaluation and award stage. The rules themselves live in ``award.services``; the forms
only parse input, and name their fields after the service's ``RuleViolation.field`` so messages land
next to the right field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from marketplace.core.formfields import DecimalField
from marketplace.tenders.forms import MultiCheckboxField

TEXT_MAX = 5000
NOTE_MAX = 2000


class ActionForm(FlaskForm):
    """A button that carries only the CSRF token (conclude, re-tender, sign off)."""

    submit = SubmitField(_l("Submit"))


class CommitteeForm(FlaskForm):
    # No DataRequired here: its "required" flag would be rendered on every checkbox, and a browser then
    # refuses the form unless every expert of the pool is ticked. The count is checked below instead.
    members = MultiCheckboxField(_l("Independent experts"), coerce=int)
    buyer_rep = SelectField(_l("Buyer's representative (optional)"), validators=[Optional()])
    chair = SelectField(_l("Chair"), validators=[DataRequired(message=_l("Choose the chair."))])
    submit = SubmitField(_l("Appoint the committee"))
    #: the least number of members (experts and the buyer's representative), set by ``committee_form``
    committee_size: int = 0

    def validate_members(self, field):
        chosen = len(set(field.data or [])) + (1 if self.buyer_rep.data else 0)
        if not field.data:
            raise ValidationError(_l("Choose the experts who sit on the committee."))
        if chosen < self.committee_size:
            raise ValidationError(
                _l(
                    "Too few: the committee needs at least %(n)d members in all (experts and the buyer's "
                    "representative); you chose %(k)d.",
                    n=self.committee_size,
                    k=chosen,
                )
            )
        if chosen % 2 == 0:
            raise ValidationError(
                _l(
                    "Too many or too few: you chose %(k)d members, the committee must have an odd number. "
                    "Add or remove one.",
                    k=chosen,
                )
            )

    def validate_chair(self, field):
        chosen = {str(i) for i in (self.members.data or [])}
        if self.buyer_rep.data:
            chosen.add(self.buyer_rep.data)
        if field.data and field.data not in chosen:
            raise ValidationError(_l("The chair must be one of the members you appoint."))


class ReplaceForm(FlaskForm):
    user = SelectField(
        _l("Replacement expert"), validators=[DataRequired(message=_l("Choose an evaluator."))]
    )
    submit = SubmitField(_l("Appoint the replacement"))


class QualifyForm(FlaskForm):
    result = RadioField(
        _l("Qualification"),
        choices=[
            ("pass", _l("Passes the qualification review")),
            ("fail", _l("Fails the qualification review")),
        ],
        validators=[InputRequired(message=_l("Choose passed or failed."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Record"))


class PriceReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            ("accept", _l("Justified: the bid stays in the evaluation")),
            ("invalid", _l("Not justified: the bid is invalid")),
        ],
        validators=[InputRequired(message=_l("Choose whether the price is justified."))],
    )
    justification = TextAreaField(_l("Justification"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Record"))


class AwardForm(FlaskForm):
    bid = SelectField(_l("Winning bid"), validators=[DataRequired(message=_l("Choose a ranked bid."))])
    reason = TextAreaField(_l("Note (optional)"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Confirm the award and publish the notice"))


class PassOverForm(FlaskForm):
    """The next candidate in rank order withdrew, was disqualified or failed to sign (O87 68)."""

    ground = SelectField(
        _l("Why"),
        choices=[
            ("withdrew", _l("The candidate withdrew")),
            ("disqualified", _l("The candidate was disqualified")),
            ("failed_to_sign", _l("The winner failed to sign the contract")),
        ],
        validators=[DataRequired(message=_l("Choose why the candidate is passed over."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Pass over this candidate"))


class AnswerChallengeForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("dismiss", _l("Dismiss the challenge")), ("uphold", _l("Uphold the challenge"))],
        validators=[InputRequired(message=_l("Choose whether the challenge is dismissed or upheld."))],
    )
    outcome = SelectField(
        _l("When upheld"),
        choices=[
            ("", _l("—")),
            ("reevaluate", _l("The committee evaluates again")),
            ("fail", _l("The tender fails")),
        ],
        validators=[Optional()],
    )
    answer = TextAreaField(_l("Answer"), validators=[Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Send the answer"))


class ChallengeForm(FlaskForm):
    grounds = TextAreaField(_l("Grounds of the challenge"), validators=[Length(max=TEXT_MAX)])
    documents = MultipleFileField(_l("Supporting documents"))
    submit = SubmitField(_l("File the challenge"))


class _DeclareBase(FlaskForm):
    confirm = BooleanField(
        _l("I declare that the above is true and complete."),
        validators=[DataRequired(message=_l("Tick the box to confirm your declaration."))],
    )
    submit = SubmitField(_l("Make the declaration"))


def declare_form_class(bids):
    """One conflict box and note per opened bid (the bidder's name only)."""

    class DeclareForm(_DeclareBase):
        pass

    for bid in bids:
        setattr(DeclareForm, f"conflict_{bid.id}", BooleanField(_l("Conflict of interest")))
        setattr(DeclareForm, f"note_{bid.id}", StringField(_l("Note"), validators=[Length(max=NOTE_MAX)]))
    return DeclareForm


class _ScoreBase(FlaskForm):
    save = SubmitField(_l("Save"))
    submit_scores = SubmitField(_l("Submit scores"))


def score_form_class(bids, criteria):
    """A points field (0..weight, two decimals) and a comment per qualified bid and technical criterion."""

    class ScoreForm(_ScoreBase):
        pass

    for bid in bids:
        for c in criteria:
            setattr(
                ScoreForm,
                f"points_{bid.id}_{c.id}",
                DecimalField(
                    f"{c.name} (0–{c.weight})",
                    validators=[
                        Optional(),
                        NumberRange(min=0, max=c.weight, message=_l("A score from %(min)s to %(max)s.")),
                    ],
                ),
            )
            setattr(
                ScoreForm,
                f"comment_{bid.id}_{c.id}",
                StringField(_l("Comment"), validators=[Length(max=NOTE_MAX)]),
            )
    return ScoreForm
