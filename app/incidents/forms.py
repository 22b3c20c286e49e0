"""The coded tier as one WTForms form: the HTML form, the JSON API and the CSV import all
validate through it, so a rule holds everywhere or nowhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms import SelectField as WTFormsSelectField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, Select

from app.formbase import Form
from app.models import Organisation

from . import choices

# ASCII digits only (\d would take other scripts' digits) and fullmatch (a $ lets "\n" through).
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
EARLIEST_YEAR = 1990


class QuickSelect(Select):  # type: ignore[misc]
    """WTForms' select, writing plain options directly: its generic attribute rendering made
    the country list (250 options) a third of the incident list page's CPU time."""

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)  # type: ignore[no-any-return]
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or choice.value)
        # Both the value and the label are escaped here (markupsafe's format is the slow part).
        html = f'<option {selected}value="{escape(value)}">{label}</option>'
        return Markup(html)  # noqa: S704  # nosec B704 - value and label escaped above


class SelectField(WTFormsSelectField):  # type: ignore[misc]
    widget = QuickSelect()


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as checkboxes: big targets for thumbs, no ctrl-click."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# An amount as machines write it (the API, CSV files, the edit form's own value): a decimal
# point and at most two decimals. Anything else is read the way the person's language writes
# numbers ("1850,50" in French, "1.850,50" in Portuguese, "1,850.50" in English).
PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


def parse_amount(text: str) -> Decimal:
    """The amount a person or a program wrote; ValueError when it is not a finite number.
    Strict about grouping, so that "1,850" is never taken for 1.85 in English."""
    text = SPACES.sub("", text)
    if PLAIN_AMOUNT.fullmatch(text):
        return Decimal(text)
    try:
        value = parse_decimal(text, locale=get_locale() or "en", strict=True)
    except NumberFormatError as exc:
        raise ValueError(text) from exc
    if not value.is_finite():  # 'Infinity' and 'NaN' parse as Decimals
        raise ValueError(text)
    return value


class MoneyField(DecimalField):  # type: ignore[misc]
    """A decimal amount, finite, in the machine form or as the person's language writes it."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or str(valuelist[0]).strip() == "":
            self.data = None
            return
        try:
            self.data = parse_amount(str(valuelist[0]))
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("Write the amount as a number, for example %(example)s.",
                                example=format_decimal(Decimal("1850.50"), format="#,##0.00",
                                                       locale=get_locale() or "en"))) from exc


class AtLeastOne:
    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one."))


class IncidentForm(Form):
    kinds = MultiCheckboxField(_l("What happened"), validators=[AtLeastOne()])
    four_p = MultiCheckboxField(_l("Which policy area caused it (4P)"), validators=[AtLeastOne()])
    instrument = SelectField(_l("Measure or law (if known)"), validators=[Optional()])
    actors = MultiCheckboxField(_l("Who did it"), validators=[AtLeastOne()])
    country = SelectField(_l("Country"), validators=[InputRequired()])
    region = StringField(_l("Region (optional, ISO 3166-2 code such as DE-BE)"),
                         validators=[Optional()], filters=[lambda v: v.strip().upper() or None
                                                           if isinstance(v, str) else v])
    month = StringField(_l("Month"), validators=[InputRequired()],
                        render_kw={"type": "month", "placeholder": _l("YYYY-MM")})
    work_setting = SelectField(_l("Work setting"), validators=[InputRequired()])
    groups = MultiCheckboxField(_l("Groups affected (optional)"))
    people_affected = IntegerField(_l("People affected"), default=1, validators=[
        InputRequired(), NumberRange(min=1, max=100_000)], render_kw={"inputmode": "numeric"})
    amount_confiscated = MoneyField(_l("Amount taken (optional)"), places=2, validators=[
        Optional(), NumberRange(min=0, max=Decimal("999999999999"))],
        render_kw={"inputmode": "decimal"})
    currency = SelectField(_l("Currency"), validators=[Optional()])
    days_detained = IntegerField(_l("Days detained (optional)"), validators=[
        Optional(), NumberRange(min=0, max=36_500)], render_kw={"inputmode": "numeric"})
    source = SelectField(_l("How we learned of it"), validators=[InputRequired()])
    consent = SelectField(_l("Consent: the widest use the person agreed to"),
                          validators=[InputRequired()])
    case_study = BooleanField(_l("The person agreed to a de-identified case study"))
    status = SelectField(_l("Status"), validators=[InputRequired()], default="complete")
    # Filled by incident-form.js; the sealed tier only ever arrives as an envelope.
    sealed = HiddenField()
    record_id = HiddenField()
    version = HiddenField(default="0")
    attachments_meta = HiddenField(default="[]")
    remove_attachments = HiddenField(default="[]")

    def __init__(self, *args: Any, org: Organisation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        vc = choices.vocab_choices
        self.kinds.choices = vc("kinds")
        self.four_p.choices = vc("four_p")
        self.instrument.choices = [("", _l("Not known")), *vc("instruments", org)]
        self.actors.choices = vc("actors", org)
        self.country.choices = [("", _l("Choose a country")), *choices.countries()]
        self.work_setting.choices = vc("work_settings")
        self.groups.choices = vc("groups")
        self.currency.choices = [("", _l("No currency")), *choices.currencies()]
        self.source.choices = vc("sources")
        self.consent.choices = vc("consent")
        self.status.choices = vc("statuses")

    def validate_month(self, field: Any) -> None:
        match = MONTH.fullmatch(field.data or "")
        if not match:
            raise ValidationError(_l("Write the month as YYYY-MM, for example 2026-03."))
        now = datetime.now(UTC)
        if (int(match[1]), int(match[2])) > (now.year, now.month):
            raise ValidationError(_l("The month cannot be in the future."))
        if int(match[1]) < EARLIEST_YEAR:
            raise ValidationError(_l("The month must be %(year)d or later.", year=EARLIEST_YEAR))

    def validate_region(self, field: Any) -> None:
        if field.data and field.data not in choices.subdivision_codes(self.country.data or ""):
            raise ValidationError(_l("This region is not a subdivision of the chosen country."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        # Across fields, after each field's own checks (Optional() would skip an inline one).
        if self.amount_confiscated.data is not None and not self.currency.data:
            self.currency.errors = [*self.currency.errors,
                                    _l("Say which currency the amount is in.")]
            valid = False
        return valid

    def validate_amount_confiscated(self, field: Any) -> None:
        if field.data is not None and int(field.data.as_tuple().exponent) < -2:
            raise ValidationError(_l("Use at most two decimals."))

    def coded(self) -> dict[str, Any]:
        """The validated coded tier as plain values."""
        return {
            "kinds": list(self.kinds.data), "four_p": list(self.four_p.data),
            "actors": list(self.actors.data), "groups": list(self.groups.data or []),
            "instrument": self.instrument.data or None, "country": self.country.data,
            "region": self.region.data or None, "month": self.month.data,
            "work_setting": self.work_setting.data,
            "people_affected": self.people_affected.data,
            "amount_confiscated": self.amount_confiscated.data,
            "currency": self.currency.data or None, "days_detained": self.days_detained.data,
            "source": self.source.data, "consent": self.consent.data,
            "case_study": bool(self.case_study.data), "status": self.status.data,
        }


class FilterForm(Form):
    """The list's filters: a GET form, so no CSRF token; every value optional."""

    class Meta:
        csrf = False

    kind = SelectField(_l("What happened"), validators=[Optional()])
    four_p = SelectField(_l("Policy area (4P)"), validators=[Optional()])
    actor = SelectField(_l("Who did it"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[Optional()])
    month_from = StringField(_l("From month"), validators=[Optional()],
                             render_kw={"type": "month"})
    month_to = StringField(_l("To month"), validators=[Optional()], render_kw={"type": "month"})
    status = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args: Any, org: Organisation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vc = choices.vocab_choices
        anything = ("", _l("Any"))
        self.kind.choices = [anything, *vc("kinds")]
        self.four_p.choices = [anything, *vc("four_p")]
        self.actor.choices = [anything, *vc("actors", org)]
        self.country.choices = [anything, *choices.countries()]
        self.status.choices = [anything, *vc("statuses")]
