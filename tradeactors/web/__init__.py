"""The HTTP API and dashboard: a Flask app built by ``create_app(config, service)``.

``service`` is the facade the views ask (``service.Service`` in production, a stand-in in the contract tests):
``symbols``, ``config``, ``metrics``, ``health()``, ``status(symbols)``, ``health_and_status()``,
``query_trades()``, ``trade_decimals()``, ``trade_batch()``, ``book()``, ``book_seconds()`` and ``analyze()``. It
raises the domain errors of ``tradeactors.errors``, which become JSON errors with the status of
``responses.ERRORS`` here and nowhere else.
Flask is imported only in this package.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from tradeactors.errors import TradeactorsError
from tradeactors.web import analytics, api, auth, dashboard, metrics, openapi, overview
from tradeactors.web.responses import error_response, json_response, status_and_code

__all__ = ["create_app", "error_response", "json_response"]

log = logging.getLogger(__name__)


def create_app(config, service) -> Flask:
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["tradeactors"] = service
    app.extensions["tradeactors.config"] = config
    app.extensions["tradeactors.rates"] = overview.TradeRates()
    app.register_blueprint(api.bp)
    app.register_blueprint(analytics.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(dashboard.bp)
    auth.install(app, getattr(config, "api_token", ""))
    dashboard.install_log_handler()

    @app.errorhandler(TradeactorsError)
    def domain_error(exc: TradeactorsError):
        mapped = status_and_code(exc)
        if mapped is None:
            log.error("no HTTP status for %s: answering 500", type(exc).__name__, exc_info=exc)
            return error_response(500, "internal_error", "internal error (logged)")
        return error_response(*mapped, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        return error_response(status, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error serving a request")
        return error_response(500, "internal_error", "internal error (logged)")

    return app
