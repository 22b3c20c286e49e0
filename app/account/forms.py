from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from app.formbase import Form


class CodeForm(Form):
    code = StringField(_l("Six-digit code from your app"), validators=[
        DataRequired(), Length(min=6, max=8),
        Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Type the six digits your app shows."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})
    submit = SubmitField(_l("Confirm"))
