"""The OpenAPI document and the routes the app really serves must agree."""

from __future__ import annotations

import re

from telephony.web import all_routes, openapi_document


def _served() -> set[tuple[str, str]]:
    return {(method.lower(), path) for method, path, _ in all_routes()}


def _documented() -> set[tuple[str, str]]:
    doc = openapi_document()
    return {(method, path) for path, ops in doc["paths"].items() for method in ops}


def test_every_route_is_documented_and_every_documented_route_exists():
    assert _served() == _documented()


def test_path_parameters_are_declared():
    doc = openapi_document()
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            assert names == declared, (method, path)


def test_document_shape():
    doc = openapi_document()
    assert doc["openapi"].startswith("3.")
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op.get("summary") and op.get("responses")
