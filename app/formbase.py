"""The base of every form: WTForms' own messages ("This field is required.") come from the
app's catalogue like every other sentence, so they appear in the reader's language (WTForms
ships no Thai, and its other translations are not written in this app's words)."""

from __future__ import annotations

from typing import Any

from flask_babel import get_translations
from flask_wtf import FlaskForm


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural message for the catalogue (extracted with -k N_plural:1,2)."""
    return singular, plural


# The WTForms messages these forms can show, exactly as WTForms writes them (they are the
# catalogue's keys). Our own validators give our own messages.
WTFORMS_MESSAGES = (
    N_("This field is required."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    N_("Invalid email address."),
    N_("Invalid input."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_plural("Field must be at least %(min)d character long.",
             "Field must be at least %(min)d characters long."),
    N_plural("Field cannot be longer than %(max)d character.",
             "Field cannot be longer than %(max)d characters."),
    N_plural("'%(value)s' is not a valid choice for this field.",
             "'%(value)s' are not valid choices for this field."),
)


class _Catalogue:
    """The interface WTForms asks of translations, answered from the app's catalogue
    (without formatting: WTForms fills in %(min)s and the like itself)."""

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


CATALOGUE = _Catalogue()


class Form(FlaskForm):  # type: ignore[misc]
    class Meta:
        def get_translations(self, form: Any) -> _Catalogue:
            return CATALOGUE
