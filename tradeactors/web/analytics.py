"""Analytics endpoints, one per tool of ``parameters.TOOLS`` (which holds their parameters, ranges and defaults):
/api/volume_profile, /api/liquidity_vacuums, /api/order_flow, /api/microstructure_health, /api/market_anomalies.

Each view only parses its parameters; the QueryActor reads the window and runs the pure analytics function.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, request

from tradeactors import parameters
from tradeactors.web.responses import json_response

bp = Blueprint("analytics", __name__, url_prefix="/api")


def _run(tool: str):
    service = current_app.extensions["tradeactors"]
    # The tool's parameters are checked before the symbol, as they always were: which error a request with
    # several faults gets is part of the contract.
    params = parameters.parse(parameters.TOOLS[tool], request.args)
    symbol = parameters.SYMBOL.parse(request.args.get("symbol"), service.symbols)
    return json_response(service.analyze(tool, symbol, params))


# One route per tool of the table: a tool added there is served at once (and tests/web/test_openapi.py then asks
# for its summary in the OpenAPI document).
for _tool in parameters.TOOLS:
    bp.add_url_rule(f"/{_tool}", endpoint=_tool, view_func=functools.partial(_run, _tool), methods=["GET"])
