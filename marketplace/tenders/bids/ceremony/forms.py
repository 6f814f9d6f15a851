from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class PassphraseForm(FlaskForm):
    passphrase = PasswordField(
        _l("Passphrase of your opening key"), validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField(_l("Continue"))


class SetUpKeyForm(FlaskForm):
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the passphrase"),
        validators=[DataRequired(), EqualTo("passphrase", message=_l("The two passphrases differ."))],
    )
    understood = BooleanField(
        _l(
            "I understand that nobody, the platform included, can recover this passphrase: without it, my "
            "shares of the opening keys are lost."
        ),
        validators=[DataRequired(message=_l("Confirm that you understand."))],
    )
    submit = SubmitField(_l("Make my opening key"))


class ChangePassphraseForm(FlaskForm):
    current_passphrase = PasswordField(_l("Current passphrase"), validators=[DataRequired(), Length(max=200)])
    new_passphrase = PasswordField(_l("New passphrase"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new passphrase"),
        validators=[DataRequired(), EqualTo("new_passphrase", message=_l("The two passphrases differ."))],
    )
    submit = SubmitField(_l("Change the passphrase"))
