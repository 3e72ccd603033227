"""GET /api/openapi.json stays true: every /api/* route and /metrics is documented, every documented path is
routed, every documented range is the one the view enforces (out of range -> 400 naming the field), and every
error status it names is the one the app answers. On the stand-in facade (tests/web/conftest.py).
"""

from __future__ import annotations

import re

from tradeactors import parameters
from tradeactors.web.responses import ERRORS


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def routed(app) -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/metrics":
            paths.setdefault(openapi_path(rule.rule), set()).update(m.lower() for m in rule.methods)
    return paths


def test_document_is_openapi_3_1_and_every_ref_resolves(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    text = repr(doc)
    for ref in set(re.findall(r"'\$ref': '#/components/schemas/(\w+)'", text)):
        assert ref in doc["components"]["schemas"], ref
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["responses"]["200"], (path, method)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")) and path not in ("/api/health",):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, code)


def test_every_route_is_documented_and_every_documented_path_is_routed(client):
    doc = client.get("/api/openapi.json").get_json()
    documented = {path: set(item) for path, item in doc["paths"].items()}
    routes = routed(client.application)
    assert sorted(set(routes) - set(documented)) == [], "routes missing from the OpenAPI document"
    assert sorted(set(documented) - set(routes)) == [], "documented paths that are not routed"
    for path in set(documented) & set(routes):
        assert documented[path] <= routes[path], f"{path}: documented methods {documented[path]} not routed"


def integer_bounds(doc, paths):
    """(path, name, value, base query, schema) for every documented integer bound, one step outside it."""
    cases = []
    for path in sorted(paths):
        params = doc["paths"][path]["get"]["parameters"]
        base = {p["name"]: p["example"] for p in params if p.get("required")}
        for p in params:
            schema = p["schema"]
            if schema.get("type") == "number":
                for key, outside in (("exclusiveMinimum", 0), ("exclusiveMaximum", 0), ("maximum", 1e-6)):
                    if key in schema:
                        cases.append((path, p["name"], schema[key] + outside, base, None))
                continue
            if schema.get("type") != "integer":
                continue
            for value in (schema.get("minimum", None), schema.get("maximum", None)):
                if value is None:
                    continue
                outside = value - 1 if value == schema.get("minimum") else value + 1
                cases.append((path, p["name"], outside, base, schema))
    return cases


def check_ranges(client, doc, paths):
    cases = integer_bounds(doc, paths)
    assert cases
    for path, name, value, base, schema in cases:
        response = client.get(path, query_string={**base, name: value})
        assert response.status_code == 400, (path, name, value, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "invalid_parameter", (path, name)
        assert error["details"]["field"] == name, (path, name, error)
        assert error["message"].startswith(name), (path, name, error)
        # The view's own range, reported in the error, is the documented one.
        if schema is not None:
            assert (error["details"].get("minimum"), error["details"].get("maximum")) == \
                (schema["minimum"], schema["maximum"]), (path, name, error["details"])
    for path in sorted(paths):
        # The documented examples of the required parameters make a valid request.
        params = doc["paths"][path]["get"]["parameters"]
        response = client.get(path, query_string={p["name"]: p["example"] for p in params if p.get("required")})
        assert response.status_code != 400, (path, response.get_json())


def test_documented_integer_ranges_are_enforced(client):
    """Every routed path, the analytics ones included."""
    doc = client.get("/api/openapi.json").get_json()
    check_ranges(client, doc, set(routed(client.application)))


def test_required_parameters_are_required(client):
    doc = client.get("/api/openapi.json").get_json()
    for path in sorted(set(routed(client.application)) & set(doc["paths"])):
        params = doc["paths"][path]["get"]["parameters"]
        base = {p["name"]: p["example"] for p in params if p.get("required")}
        for name in base:
            response = client.get(path, query_string={k: v for k, v in base.items() if k != name})
            assert response.status_code == 400, (path, name)
            assert response.get_json()["error"]["details"]["field"] == name, (path, name)


def test_every_domain_error_code_is_in_the_error_schema_with_its_status_on_the_paths_that_raise_it(client):
    doc = client.get("/api/openapi.json").get_json()
    enum = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    for status, code in ERRORS.values():
        assert code in enum
        assert doc["paths"]["/api/volume_profile"]["get"]["responses"][str(status)]["description"].startswith(
            f"{code}: ")


def test_every_path_of_the_parameter_table_is_documented_with_its_parameters(client):
    """A path renamed in the table but not in the document would leave its parameters undocumented."""
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path, table in parameters.ENDPOINTS.items():
        assert [p["name"] for p in paths[path]["get"]["parameters"]] == [p.name for p in table], path
