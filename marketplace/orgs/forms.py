from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.districts import counties, streets_of
from marketplace.core.formfields import DateField
from marketplace.orgs import labels

# Accepted for organization documents (registration certificate and others): PDF or image.
DOCUMENT_EXTENSIONS = {"pdf", "png", "jpg", "jpeg"}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _count_field(label):
    return IntegerField(
        label,
        validators=[
            InputRequired(message=_l("Enter a number (0 if none).")),
            NumberRange(min=0, max=100_000, message=_l("Enter a number between 0 and 100,000.")),
        ],
        default=0,
    )


class OrgForm(FlaskForm):
    """The registration data an organization enters at sign-up and corrects before review."""

    name = StringField(_l("Registered name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=200)])
    uscc = StringField(
        _l("Unified social credit code (统一社会信用代码)"), validators=[DataRequired(), Length(max=64)]
    )
    org_type = SelectField(_l("Organization type"), validators=[DataRequired()])
    registration_authority = StringField(
        _l("Registration authority (登记管理机关)"), validators=[DataRequired(), Length(max=200)]
    )
    registered_district_code = SelectField(_l("Registered district"), validators=[DataRequired()])
    founded_on = DateField(_l("Founding date"), validators=[InputRequired()])
    legal_representative = StringField(
        _l("Legal representative"), validators=[DataRequired(), Length(max=100)]
    )
    contact_person = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=40)])
    email = StringField(_l("Organization email"), validators=[DataRequired(), Length(max=254)])
    categories = MultiCheckboxField(
        _l("Service categories"),
        validators=[DataRequired(message=_l("Choose at least one service category."))],
    )
    service_area_codes = SelectMultipleField(
        _l("Service areas (districts and streets)"),
        validators=[DataRequired(message=_l("Choose at least one service area."))],
    )
    staff_fulltime = _count_field(_l("Full-time staff"))
    staff_social_workers = _count_field(_l("Certified social workers (持证社工)"))
    annual_inspection = SelectField(_l("Latest annual inspection result"), validators=[DataRequired()])
    rating = SelectField(_l("Social organization rating (评估等级)"), validators=[DataRequired()])
    small_org_declared = BooleanField(
        _l(
            "We declare that the organization is a small or micro organization and may claim the price "
            "preference for small suppliers (Caiku [2020] 46)."
        )
    )

    def fill_choices(self) -> None:
        self.org_type.choices = [(k, str(v)) for k, v in labels.ORG_TYPES.items()]
        self.categories.choices = [(k, str(v)) for k, v in SERVICE_CATEGORIES.items()]
        county_list = counties()
        self.registered_district_code.choices = [(c.code, c.name) for c in county_list]
        areas = []
        for county in county_list:
            whole = _l("whole district")
            areas.append((county.code, f"{county.name} ({whole})"))
            areas.extend((s.code, f"— {s.name}") for s in streets_of(county.code))
        self.service_area_codes.choices = areas
        self.annual_inspection.choices = [(k, str(v)) for k, v in labels.INSPECTION_RESULTS.items()]
        self.rating.choices = [(k, str(v)) for k, v in labels.RATINGS.items()]


class RegistrationForm(OrgForm):
    member_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    account_email = EmailField(_l("Your email (to sign in)"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    # Required, but checked by the view (registration.sign_up_problems): a certificate uploaded with a
    # submission that failed is kept (core.staging) and need not be chosen again.
    registration_certificate = FileField(_l("Registration certificate (登记证书)"))
    documents = MultipleFileField(_l("Other documents (optional)"))
    submit = SubmitField(_l("Register"))


class EditForm(OrgForm):
    registration_certificate = FileField(_l("New registration certificate (optional)"))
    documents = MultipleFileField(_l("Further documents (optional)"))
    submit = SubmitField(_l("Save and resubmit for review"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email of the person to invite"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Create invitation"))


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Join the organization"))


class VerifyForm(FlaskForm):
    checked = BooleanField(
        _l("I have checked the registration certificate against the credit code, name and type."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Verify"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (shown to the organization)"), validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Send"))


class SanctionForm(FlaskForm):
    until = DateField(_l("Until (last day, inclusive)"), validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason (shown to the organization)"), validators=[DataRequired(), Length(max=2000)]
    )
    confirm = BooleanField(
        _l("I confirm: the organization cannot bid during this period."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Apply"))


class DirectoryForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or credit code"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("Service category"), validators=[Optional()])
    area = SelectField(_l("Service area"), validators=[Optional()])
