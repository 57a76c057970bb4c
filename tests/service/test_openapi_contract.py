"""The API contract does not move by accident: paths, methods, operation ids, parameters, request
and response models, and the fields of each model, as recorded in `openapi_contract.json` (taken
from the OpenAPI document before the routes were split into routers).

A deliberate change updates the record: print the new one with
`python -c "from tests.service.test_openapi_contract import print_contract; print_contract()"`.
Error responses are not pinned here; `test_openapi_statuses.py` checks them against what routes do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD = Path(__file__).with_name("openapi_contract.json")


def _schema_name(schema: dict[str, Any]) -> Any:
    """A model's name for a $ref, else the inline schema (lists of models, free-form objects)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return schema


def contract(doc: dict[str, Any]) -> dict[str, Any]:
    operations = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            success = next(s for s in sorted(op["responses"]) if s.startswith("2"))  # 201, 204 for some routes
            ok = op["responses"][success].get("content", {}).get("application/json", {}).get("schema", {})
            operations[f"{method.upper()} {path}"] = {
                "operationId": op["operationId"],
                "tags": op.get("tags", []),
                "parameters": [[p["in"], p["name"], p.get("required", False)] for p in op.get("parameters", [])],
                "request": _schema_name(body) if body else None,
                "response": _schema_name(ok),
            }
    models = {
        name: {"properties": sorted(s.get("properties", {})), "required": sorted(s.get("required", []))}
        for name, s in doc["components"]["schemas"].items()
    }
    return {"operations": dict(sorted(operations.items())), "models": dict(sorted(models.items()))}


def _app_contract() -> dict[str, Any]:
    from service.api import create_app
    from service.settings import Settings
    from tests.conftest import FakeEmbedder

    app = create_app(Settings(index_dir=Path("/nonexistent"), model=FakeEmbedder.model_name), embedder=FakeEmbedder())
    return contract(app.openapi())


def format_contract(c: dict[str, Any]) -> str:
    """One line per operation and per model, so a change shows as a one-line diff."""
    sections = []
    for key in ("operations", "models"):
        rows = ",\n".join(f"  {json.dumps(name)}: {json.dumps(value)}" for name, value in c[key].items())
        sections.append(f' "{key}": {{\n{rows}\n }}')
    return "{\n" + ",\n".join(sections) + "\n}\n"


def print_contract() -> None:
    print(format_contract(_app_contract()), end="")


def test_operations_are_as_recorded():
    assert _app_contract()["operations"] == json.loads(RECORD.read_text())["operations"]


def test_recorded_models_keep_their_names_and_fields():
    """Models may be added (error shapes), not renamed or changed."""
    recorded, now = json.loads(RECORD.read_text())["models"], _app_contract()["models"]
    assert {name: now.get(name) for name in recorded} == recorded
