"""Checking JSON bodies from page scripts: every refusal names the field and says why."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_babel import ngettext

from app.crypto import CryptoError, b64u_decode, check_envelope, load_public_raw
from app.inputs import has_control

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
MAX_TEXT = 200


def loads(text: str | bytes) -> Any:
    """json.loads for what a request carries. Nesting deep enough to exhaust the parser's
    stack raises RecursionError, which is not one of JSON's own errors (it made a 500 on every
    JSON endpoint and field): here it is a JSONDecodeError like any other bad JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


class JSONProvider(DefaultJSONProvider):
    """request.get_json() through `loads`, so a too-deep body is simply not JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def _encodable(text: str) -> bool:
    """False for a lone surrogate ("\\ud800" in JSON), which no database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BadInput(ValueError):
    """A refusal to show the person: a sentence, and the field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Payload:
    """Typed access to a JSON object; each getter raises BadInput with a clear message."""

    def __init__(self, data: Any, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise BadInput(_("The request body must be a JSON object."), prefix or None)
        self.data = data
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def raw(self, key: str, *, optional: bool = False) -> Any:
        if key not in self.data or self.data[key] is None:
            if optional:
                return None
            raise BadInput(_("This is required."), self._name(key))
        return self.data[key]

    def text(self, key: str, *, max_len: int = MAX_TEXT, optional: bool = False) -> str | None:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise BadInput(_("This must be text."), self._name(key))
        if has_control(value) or not _encodable(value):
            raise BadInput(_("This holds a control character or a broken character, which is "
                             "never part of what anyone types."), self._name(key))
        if len(value) > max_len:
            raise BadInput(ngettext("This is too long (at most %(num)d character).",
                                    "This is too long (at most %(num)d characters).", max_len),
                           self._name(key))
        return value.strip()

    def email(self, key: str = "email") -> str:
        value = self.text(key, max_len=254) or ""
        if not EMAIL.match(value):
            raise BadInput(_("This does not look like an e-mail address."), self._name(key))
        return value.lower()

    def integer(self, key: str, *, minimum: int = 0, maximum: int = 2**31) -> int:
        value = self.raw(key)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise BadInput(_("This must be a whole number from %(a)d to %(b)d.", a=minimum,
                             b=maximum), self._name(key))
        return value

    def b64u(self, key: str, *, length: int | None = None, optional: bool = False) -> str | None:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        try:
            decoded = b64u_decode(value) if isinstance(value, str) else None
        except CryptoError:
            decoded = None
        if decoded is None or (length is not None and len(decoded) != length):
            raise BadInput(_("This is not a valid encoded key."), self._name(key))
        return str(value)

    def public_key(self, key: str) -> str:
        value = self.b64u(key, length=65) or ""
        try:
            load_public_raw(b64u_decode(value))
        except CryptoError as exc:
            raise BadInput(_("This is not a valid public key."), self._name(key)) from exc
        return value

    def envelope(self, key: str, *, with_kv: bool) -> dict[str, Any]:
        value = self.raw(key)
        try:
            check_envelope(value, with_kv=with_kv, max_ct_bytes=4096)
        except CryptoError as exc:
            raise BadInput(_("This is not a sealed envelope of version 1: %(why)s", why=str(exc)),
                           self._name(key)) from exc
        return dict(value)

    def wrapped_key(self, key: str, *, optional: bool = False) -> str | None:
        """An HPKE wrap of a 32-byte key: 65-byte enc + 48 bytes of ciphertext."""
        return self.b64u(key, length=65 + 48, optional=optional)

    def uuid(self, key: str) -> uuid.UUID:
        value = self.raw(key)
        try:
            if isinstance(value, str):
                return uuid.UUID(value)
        except ValueError:
            pass
        raise BadInput(_("This is not a valid identifier."), self._name(key))

    def child(self, key: str, *, optional: bool = False) -> Payload | None:
        value = self.raw(key, optional=optional)
        return None if value is None else Payload(value, prefix=f"{self._name(key)}.")

    def items(self, key: str, *, max_items: int = 1000) -> list[Payload]:
        value = self.raw(key)
        if not isinstance(value, list) or len(value) > max_items:
            raise BadInput(_("This must be a list."), self._name(key))
        return [Payload(v, prefix=f"{self._name(key)}[{i}].") for i, v in enumerate(value)]
