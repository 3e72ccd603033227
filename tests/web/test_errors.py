"""The one mapping from domain errors to HTTP (``web/responses.ERRORS``): each error type answers its status and
code with the error's own message and details; a subclass answers as its mapped ancestor; a domain error nobody
mapped is an internal error that shows nothing of itself."""

from __future__ import annotations

import pytest

from tradeactors.errors import (
    InsufficientData,
    InvalidParameter,
    TradeactorsError,
    Unavailable,
    UnknownSymbol,
)


@pytest.mark.parametrize("error,status,code", [
    (InvalidParameter("depth", "must be in 1..5000, got 0", minimum=1, maximum=5000), 400, "invalid_parameter"),
    (UnknownSymbol("DOGEUSDT", ["BTCUSDT"]), 404, "unknown_symbol"),
    (InsufficientData(2, 1, "book seconds"), 422, "insufficient_historical_data"),
    (Unavailable("query is not running (restarting?)", actor="query"), 503, "unavailable"),
])
def test_each_domain_error_has_its_status_and_code(client, standin, error, status, code):
    standin.failure = error
    response = client.get("/api/orderbook/l2?symbol=BTCUSDT")
    assert response.status_code == status
    assert response.get_json() == {"error": {"code": code, "message": error.message, "details": error.details}}


def test_a_subclass_answers_as_its_mapped_ancestor(client, standin):
    class StorageOffline(Unavailable):
        pass

    standin.failure = StorageOffline("storage is reopening", actor="storage")
    response = client.get("/api/status")
    assert (response.status_code, response.get_json()["error"]["code"]) == (503, "unavailable")


def test_an_unmapped_domain_error_is_a_500_that_says_nothing_of_itself(client, standin, caplog):
    class Unforeseen(TradeactorsError):
        pass

    standin.failure = Unforeseen("secret internals", path="/var/lib/x")
    response = client.get("/api/status")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error", "message": "internal error (logged)",
                                             "details": {}}}
    assert "Unforeseen" in caplog.text
