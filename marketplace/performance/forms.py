"""Forms of the performance pages. They only parse input; the rules live in the verbs
(``indicators``, ``rounds``, ``assessment``, ``surveys``), whose ``RuleViolation.field`` names match
the field names here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.labels import label
from marketplace.performance.models import STAGES
from marketplace.performance.schemas import QUESTIONS, SCALE

TEXT_MAX = 5000


class AssignForm(FlaskForm):
    stage = SelectField(_l("Stage"), validators=[InputRequired(message=_l("Choose the stage."))])
    assessor = SelectField(
        _l("Third-party assessor"), coerce=int, validators=[InputRequired(message=_l("Choose the assessor."))]
    )
    template = SelectField(_l("Indicator template"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Assign"))

    def __init__(self, *args, assessors=(), templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [(s, label("evaluation_stage", s)) for s in STAGES]
        self.assessor.choices = [(u.id, u.email) for u in assessors]
        self.template.choices = [(0, str(_l("The category's template, else the default")))] + [
            (t.id, f"{t.name} (v{t.version})") for t in templates
        ]


class DeclareForm(FlaskForm):
    choice = RadioField(
        _l("Declaration"),
        choices=[
            ("none", _l("I have no conflict of interest with the buying agency or the organization")),
            ("conflict", _l("I have a conflict of interest")),
        ],
        validators=[InputRequired(message=_l("Choose one."))],
    )
    statement = TextAreaField(
        _l("Statement (required for a conflict)"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    submit = SubmitField(_l("Declare"))


class CopyForm(FlaskForm):
    category = SelectField(
        _l("Service category"), validators=[DataRequired(message=_l("Choose a category."))]
    )
    name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Copy for this category"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()]


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("The template needs a name."))])
    outline = TextAreaField(_l("Indicators"), validators=[DataRequired(message=_l("Add the indicators."))])
    submit = SubmitField(_l("Save"))


def score_form_class(leaves):
    """One set of fields per leaf: points (manual, survey) or ratio (ratio), evidence, comment and the
    reason for changing a prefilled value."""

    class ScoreForm(FlaskForm):
        summary = TextAreaField(_l("Overall comment"), validators=[Optional(), Length(max=TEXT_MAX)])
        confirm = BooleanField(
            _l("I have checked every score: submit the evaluation, which cannot be changed.")
        )
        save = SubmitField(_l("Save draft"))
        submit_scores = SubmitField(_l("Submit the evaluation"))

    for leaf in leaves:
        if leaf.rule == "ratio":
            setattr(ScoreForm, f"ratio_{leaf.id}", StringField(_l("Actual ÷ target (e.g. 0.85)")))
        else:
            setattr(ScoreForm, f"points_{leaf.id}", StringField(_l("Points")))
        setattr(ScoreForm, f"evidence_{leaf.id}", TextAreaField(_l("Evidence"), validators=[Optional()]))
        setattr(ScoreForm, f"comment_{leaf.id}", TextAreaField(_l("Comment"), validators=[Optional()]))
        setattr(
            ScoreForm,
            f"reason_{leaf.id}",
            TextAreaField(_l("Reason for changing the prefilled value"), validators=[Optional()]),
        )
    return ScoreForm


def survey_form_class():
    """The public survey: one 1-5 answer per question (``schemas.QUESTIONS``) and a comment."""

    class SurveyForm(FlaskForm):
        pass

    choices = [(i, str(i)) for i in SCALE]
    for key, question in QUESTIONS:
        setattr(
            SurveyForm,
            key,
            RadioField(
                question,
                choices=choices,
                coerce=int,
                validators=[InputRequired(message=_l("Choose an answer from 1 to 5."))],
            ),
        )
    SurveyForm.comment = TextAreaField(_l("Anything you would like to tell us (optional)"))
    return SurveyForm
