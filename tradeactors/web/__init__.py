"""The HTTP API and dashboard: a Flask app built by ``create_app(config, service)``.

``service`` is the running service's facade (see service.ServiceFacade): the views ask it, it asks the actors
with a timeout, and a timeout becomes a JSON 503. Flask is imported only in this package.
"""

from __future__ import annotations

import logging

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from tradeactors.errors import ApiError

log = logging.getLogger(__name__)


def json_response(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or {}}}, status)


def create_app(config, service) -> Flask:
    from tradeactors.web import analytics, api, auth, dashboard, metrics, openapi

    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["tradeactors"] = service
    app.extensions["tradeactors.config"] = config
    app.register_blueprint(api.bp)
    app.register_blueprint(analytics.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(dashboard.bp)
    auth.install(app, getattr(config, "api_token", ""))
    dashboard.install_log_handler()

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code, "http_error")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error serving a request")
        return error_response(500, "internal_error", "internal error (logged)")

    return app
