"""Page numbers from the query string: whatever arrives, a whole number from 1 to MAX_PAGE.
(A number too large for the database's OFFSET made a 500.)"""

from __future__ import annotations

from flask import request

MAX_PAGE = 1_000_000  # far past any list's end: such a page is simply empty


def page_number(name: str = "page") -> int:
    return min(MAX_PAGE, max(1, request.args.get(name, 1, type=int) or 1))
