from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, SubmitField
from wtforms.validators import DataRequired, Email, Length

ROLE_CHOICES = [("outreach", _l("Outreach worker")), ("coordinator", _l("Coordinator")),
                ("analyst", _l("Analyst (reports only, never sees sealed text)"))]


class InviteForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="outreach")
    submit = SubmitField(_l("Make an invitation link"))


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    submit = SubmitField(_l("Change role"))


class ConfirmActionForm(FlaskForm):  # type: ignore[misc]
    """A button that needs only the CSRF token."""

    submit = SubmitField(_l("Continue"))


class SettingsForm(FlaskForm):  # type: ignore[misc]
    require_2fa = BooleanField(_l("Every member must use a second factor (an authenticator app)"))
    submit = SubmitField(_l("Save"))
