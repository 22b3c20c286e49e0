"""wsgi.py's app plus one route for the log-privacy tests: it logs carelessly what careless
code might (a value from the path, the client's address, the path with its query) and then
fails with an exception whose message holds the same."""

from __future__ import annotations

from flask import current_app, request

from wsgi import app


@app.get("/careless/<value>")
def careless(value: str) -> str:
    current_app.logger.warning("careless: %s from %s asked %s", value, request.remote_addr,
                               request.full_path)
    raise RuntimeError(f"failed for {value} from {request.remote_addr}")


__all__ = ["app"]
