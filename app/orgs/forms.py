from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.formbase import Form
from app.payload import EMAIL

ROLE_CHOICES = [SelectChoice("outreach", _l("Outreach worker")),
                SelectChoice("coordinator", _l("Coordinator")),
                SelectChoice("analyst", _l("Analyst (reports only, never sees sealed text)"))]


class InviteForm(Form):
    # The same rule as JSON bodies (app.payload), so an address is valid everywhere or nowhere.
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(), Length(max=254),
        Regexp(EMAIL.pattern, message=_l("This does not look like an e-mail address."))])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="outreach")
    submit = SubmitField(_l("Make an invitation link"))


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    submit = SubmitField(_l("Change role"))


class ConfirmActionForm(Form):
    """A button that needs only the CSRF token."""

    submit = SubmitField(_l("Continue"))


class SettingsForm(Form):
    require_2fa = BooleanField(_l("Every member must use a second factor (an authenticator app)"))
    # The same bounds as app.retention.service.set_months.
    retention_months = IntegerField(
        _l("Destroy the sealed details of old incidents after this many months"),
        validators=[Optional(), NumberRange(1, 600, message=_l(
            "Give a number of months between 1 and 600, or leave it empty to keep sealed "
            "details."))])
    # Bounds checked by app.research.service.set_quorum (one message for page and CLI).
    extract_quorum = IntegerField(
        _l("Coordinators who must approve a research extract"), validators=[Optional()])
    submit = SubmitField(_l("Save"))
