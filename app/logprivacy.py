"""Logs without the people in them.

Every record that reaches the app's log handlers (the app's own, werkzeug's and gunicorn's)
passes a filter that replaces e-mail addresses with `[email]`, IPv4 and IPv6 addresses with
`[ip]`, record ids (UUIDs) with `<id>`, and in URL paths numbers, long tokens (invitation
links) and query strings with `<n>`, `<token>` and `?<query>`. The development server's
per-request line is dropped: there is no access log (gunicorn.conf.py has none either).

LOG_PRIVACY=0 turns all of this off, for debugging on a machine with no real data.
"""

from __future__ import annotations

import ipaddress
import logging
import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
UUID = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?"
                  r"[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}(?![0-9A-Fa-f])")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?(?![\w])")
URL_PATH = re.compile(r"(?<![\w.~/])(/[^\s\"'<>()\[\],;]*)")
# Links carry secrets.token_urlsafe tokens (43 characters); no fixed path segment is this long.
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,}")
# werkzeug's request line: '<address> - - [<time>] "%s" %s %s' % (request line, status, size)
REQUEST_LINE = '"%s" %s %s'
LOGGERS = ("", "app", "werkzeug", "gunicorn.error", "gunicorn.access")


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    # "ip=2001:db8::17: error" - the address may be followed by punctuation.
    for end in (len(text), len(text) - 1):
        try:
            ipaddress.ip_address(text[:end].split("%", 1)[0])
        except ValueError:
            continue
        return "[ip]" + text[end:]
    return text  # a time of day, a version number, ...


def _segment(part: str) -> str:
    if UUID.fullmatch(part):
        return "<id>"
    if part.isdigit():
        return "<n>"
    if TOKEN.fullmatch(part):
        return "<token>"
    return part


def _path(match: re.Match[str]) -> str:
    path, has_query, _ = match.group(1).partition("?")
    clean = "/".join(_segment(part) for part in path.split("/"))
    return clean + ("?<query>" if has_query else "")


def scrub(text: str) -> str:
    """The text without e-mail addresses, IP addresses, ids, tokens or query strings."""
    text = URL_PATH.sub(_path, text)
    text = EMAIL.sub("[email]", text)
    text = UUID.sub("<id>", text)
    text = IPV6.sub(_ip, text)
    return IPV4.sub(_ip, text)


class Scrub(logging.Filter):
    """Rewrites each record to its scrubbed text (and drops request lines), unless off."""

    enabled = True  # one setting for the process: logging is process-wide

    def filter(self, record: logging.LogRecord) -> bool:
        if not Scrub.enabled:
            return True
        if record.name == "werkzeug" and REQUEST_LINE in str(record.msg):
            return False
        if getattr(record, "_collateral_scrubbed", False):
            return True
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info or record.exc_text:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            record.exc_text, record.exc_info = scrub(text), None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record._collateral_scrubbed = True
        return True


def install(enabled: bool) -> None:
    """Put the filter on the loggers that emit (werkzeug's and gunicorn's log to their own) and
    on every handler they have, so records of child loggers ("app.errors") are covered too."""
    Scrub.enabled = enabled
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, Scrub) for f in target.filters):
                target.addFilter(Scrub())
