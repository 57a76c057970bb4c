"""Every status a route answers with is in the OpenAPI document, and every error status the document
lists is one the route really answers with.

Each route is called with good input, with bad input, with an oversized body, with no index loaded,
and (admin) without a token, with a wrong one and with a broken new index; the statuses seen are
compared with the route's documented ones, and each error body is checked against its documented
model. Not per route, so not checked here: 404 for an unknown path, 405 for a wrong method (the
framework answers them before any route), and 500 (a bug, in the same shape: test_error_shape.py).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service import schemas

AUTH = {"authorization": "Bearer test-token"}
QUESTION = {"role": "user", "content": "How much money was required to set up the Company?"}
ALERT = {"query": "VAT liability", "filters": {"doc_type": "minutes"}}
# Saved before the calls (alert ids are random): "{alert}" is read, "{doomed}" is deleted.
ALERT_PLACEHOLDERS = ("{alert}", "{doomed}")

# operation → (concrete path, request arguments) for a request the route accepts
GOOD: dict[str, tuple[str, dict[str, Any]]] = {
    "POST /ask": ("/ask", {"json": {"question": "How much money was required to set up the Company?"}}),
    "GET /search": ("/search", {"params": {"q": "VAT"}}),
    "GET /suggestions": ("/suggestions", {}),
    "GET /documents": ("/documents", {}),
    "GET /documents/{doc_id}": ("/documents/panel-minutes-2018-03-22", {}),
    "GET /meetings": ("/meetings", {}),
    "GET /meetings/{meeting_id}": ("/meetings/cabinet-2017-12-14", {}),
    "GET /history": ("/history", {"params": {"q": "VAT"}}),
    "GET /healthz": ("/healthz", {}),
    "POST /admin/reload": ("/admin/reload", {"headers": AUTH}),
    "POST /alerts": ("/alerts", {"json": ALERT, "headers": AUTH}),
    "GET /alerts": ("/alerts", {"headers": AUTH}),
    "GET /alerts/{alert_id}": ("/alerts/{alert}", {}),
    "GET /alerts/{alert_id}.atom": ("/alerts/{alert}.atom", {}),
    "DELETE /alerts/{alert_id}": ("/alerts/{doomed}", {"headers": AUTH}),
    "GET /v1/models": ("/v1/models", {}),
    "POST /v1/chat/completions": ("/v1/chat/completions", {"json": {"messages": [QUESTION]}}),
}
# operation → requests the route refuses (status aside: the test compares with the document)
BAD: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "POST /ask": [
        ("/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("/ask", {"json": {"question": ""}}),
        ("/ask", {"json": {"question": "ok?", "top_k": 0}}),
        ("/ask", {"json": {"question": "ok?", "filters": {"body": "Parish Pump Club"}}}),
    ],
    "GET /search": [
        ("/search", {"params": {"q": ""}}),
        ("/search", {"params": {"q": "vat", "k": 0}}),
        ("/search", {"params": {"q": "vat", "date_from": "2018-05-01", "date_to": "2018-01-01"}}),
    ],
    "GET /documents/{doc_id}": [("/documents/nope", {}), ("/documents/%2e%2e", {})],
    "GET /meetings/{meeting_id}": [("/meetings/nope", {}), ("/meetings/cabinet-2099-01-01", {})],
    "GET /history": [
        ("/history", {"params": {"q": ""}}),
        ("/history", {"params": {"q": "vat", "date_from": "yesterday"}}),
        ("/history", {"params": {"q": "vat", "date_from": "2018-05-01", "date_to": "2018-01-01"}}),
    ],
    "POST /admin/reload": [("/admin/reload", {}), ("/admin/reload", {"headers": {"authorization": "Bearer wrong"}})],
    "POST /alerts": [
        ("/alerts", {"content": b"{not json", "headers": {"content-type": "application/json", **AUTH}}),
        ("/alerts", {"json": ALERT}),
        ("/alerts", {"json": {"query": " "}, "headers": AUTH}),
        ("/alerts", {"json": {**ALERT, "webhook_url": "file:///etc/passwd"}, "headers": AUTH}),
        ("/alerts", {"json": {**ALERT, "filters": {"body": "Parish Pump Club"}}, "headers": AUTH}),
        ("/alerts", {"json": {**ALERT, "webhook_url": "http://169.254.169.254/"}, "headers": AUTH}),
        ("/alerts", {"json": {"query": "the of and"}, "headers": AUTH}),
    ],
    "GET /alerts": [("/alerts", {}), ("/alerts", {"headers": {"authorization": "Bearer wrong"}})],
    "GET /alerts/{alert_id}": [("/alerts/no-such-alert", {})],
    "GET /alerts/{alert_id}.atom": [("/alerts/no-such-alert.atom", {})],
    "DELETE /alerts/{alert_id}": [("/alerts/no-such-alert", {"headers": AUTH}), ("/alerts/{alert}", {})],
    "POST /v1/chat/completions": [
        ("/v1/chat/completions", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("/v1/chat/completions", {"json": {"messages": []}}),
        ("/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": " "}]}}),
    ],
}


def _call(client: TestClient, operation: str, path: str, kwargs: dict[str, Any], ids: dict[str, str]) -> Any:
    for placeholder, alert_id in ids.items():
        path = path.replace(placeholder, alert_id)
    return client.request(operation.split()[0], path, **kwargs)


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": op for path, methods in doc["paths"].items() for method, op in methods.items()}


def _documented_model(op: dict[str, Any], status: int) -> Any:
    ref = op["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return getattr(schemas, ref.rsplit("/", 1)[-1])


@pytest.fixture
def no_index_client(tmp_path, fake_embedder):
    from service.api import create_app
    from service.settings import Settings

    settings = Settings(
        index_dir=tmp_path / "missing",
        model=fake_embedder.model_name,
        start_without_index=True,
        admin_token="test-token",
    )
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        yield c


@pytest.fixture
def no_admin_client(app_settings, fake_embedder):
    from service.api import create_app

    with TestClient(create_app(app_settings.model_copy(update={"admin_token": None}), embedder=fake_embedder)) as c:
        yield c


def _break_next_version(index_dir) -> None:
    """Point CURRENT at a copy of the live version with junk vectors, as a failed rebuild would."""
    from indexer.store import current_version_dir

    live = current_version_dir(index_dir)
    broken = live.parent / "20990101T000000-broken"
    shutil.copytree(live, broken)
    (broken / "vectors.npy").write_bytes(b"junk")
    (index_dir / "CURRENT").write_text(broken.name)


def test_every_status_a_route_answers_with_is_documented(
    client, no_index_client, no_admin_client, app_settings, fake_embedder
):
    doc = client.app.openapi()
    operations = _operations(doc)
    assert set(GOOD) == set(operations), "a new route needs a request it accepts in GOOD (and refusals in BAD)"
    seen: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    # the three apps share one alerts database (beside the same temporary index directory)
    ids = {name: client.post("/alerts", json=ALERT, headers=AUTH).json()["id"] for name in ALERT_PLACEHOLDERS}

    def record(operation: str, response: Any) -> None:
        seen[operation].append((response.status_code, response))

    for operation, (path, kwargs) in GOOD.items():
        record(operation, _call(client, operation, path, kwargs, ids))
        record(operation, _call(no_index_client, operation, path, kwargs, ids))
        record(operation, _call(no_admin_client, operation, path, kwargs, ids))
        # the body limit applies to every request, whatever its route and method
        oversized = {**kwargs, "content": b"x" * 70000, "json": None}
        record(operation, _call(client, operation, path, oversized, ids))
        for bad_path, bad_kwargs in BAD.get(operation, []):
            record(operation, _call(client, operation, bad_path, bad_kwargs, ids))
    # the shared alerts database already holds alerts: with a limit of one, saving another is refused
    from service.api import create_app

    with TestClient(create_app(app_settings.model_copy(update={"alert_max_count": 1}), embedder=fake_embedder)) as c:
        record("POST /alerts", _call(c, "POST /alerts", *GOOD["POST /alerts"], ids))
    _break_next_version(app_settings.index_dir)
    path, kwargs = GOOD["POST /admin/reload"]
    record("POST /admin/reload", _call(client, "POST /admin/reload", path, kwargs, ids))

    for operation, op in operations.items():
        observed = {status for status, _ in seen[operation]}
        documented = {int(s) for s in op["responses"]}
        assert observed == documented, f"{operation}: answers {sorted(observed)}, documents {sorted(documented)}"
        for status, response in seen[operation]:
            if status >= 400:  # the error body is the documented model
                _documented_model(op, status).model_validate(response.json())


def test_error_statuses_name_their_codes_and_shape():
    """Native routes document the native error shape, /v1 routes OpenAI's; each entry names its codes."""
    from service.api import create_app
    from service.errors import ErrorCode
    from service.settings import Settings
    from tests.conftest import FakeEmbedder

    app = create_app(Settings(model=FakeEmbedder.model_name), embedder=FakeEmbedder())
    codes = {c.value for c in ErrorCode}
    for operation, op in _operations(app.openapi()).items():
        for status, response in op["responses"].items():
            if status.startswith("2") or operation == "GET /healthz" and status == "503":
                continue
            model = _documented_model(op, int(status)).__name__
            assert model == ("OpenAIErrorResponse" if " /v1/" in operation else "ErrorResponse"), operation
            named = response["description"].removeprefix("error code: ").split(", ")
            assert set(named) <= codes, (operation, status)
