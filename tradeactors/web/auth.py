"""Bearer-token check for ``/api/*`` and ``/metrics`` (a ``before_request`` hook installed by ``create_app``).

When ``config.api_token`` is empty nothing is checked (the default: the server binds 127.0.0.1). Otherwise every
request under ``/api/`` and ``/metrics`` needs ``Authorization: Bearer <token>``; anything else gets one 401
that says nothing about why (missing, malformed and wrong tokens look the same), so the hook cannot be used to
probe for the token or for which paths exist. The dashboard page ``/`` and its static files load without a
token; the page asks the operator for it once and keeps it in ``sessionStorage`` (see docs/operations.md).
"""

from __future__ import annotations

import hmac

from flask import Flask, request

from tradeactors.web.responses import error_response

UNAUTHORIZED = ("unauthorized", "missing or invalid bearer token")


def protected(path: str) -> bool:
    return path.startswith(("/api/", "/metrics/")) or path == "/api" or path == "/metrics"


def install(app: Flask, token: str) -> None:
    """Register the hook on ``app``; with an empty ``token`` there is nothing to install."""
    if not token:
        return
    expected = f"Bearer {token}".encode()

    @app.before_request
    def require_bearer_token():
        if not protected(request.path):
            return None
        supplied = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if hmac.compare_digest(supplied, expected):
            return None
        response = error_response(401, *UNAUTHORIZED)
        response.headers["WWW-Authenticate"] = 'Bearer realm="tradeactors"'
        return response
