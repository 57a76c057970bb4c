"""Every 4xx/5xx of the native API has one shape: {"error": {"code": str, "message": str}} (cf. datasette).
Under /v1 the same codes come in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

import pytest

BAD_REQUESTS = [
    ("post", "/ask", {"json": {"question": ""}}, 422, "empty_question"),
    ("post", "/ask", {"json": {"question": "   \n "}}, 422, "empty_question"),
    ("post", "/ask", {"json": {"question": "x" * 2001}}, 422, "question_too_long"),
    (
        "post",
        "/ask",
        {"json": {"question": "ok?", "history": [{"role": "user", "content": "q"}] * 21}},
        422,
        "history_too_long",
    ),
    ("post", "/ask", {"json": {"question": "bell\x07?"}}, 422, "invalid_request"),
    ("post", "/ask", {"json": {"question": 42}}, 422, "invalid_request"),
    ("post", "/ask", {"json": {"question": "ok?", "top_k": 0}}, 422, "invalid_request"),
    ("post", "/ask", {"json": {"question": "ok?", "top_k": 500}}, 422, "invalid_request"),
    ("post", "/ask", {"json": {"question": "ok?", "filters": {"colour": "red"}}}, 422, "invalid_request"),
    ("post", "/ask", {"json": {"question": "ok?", "filters": {"document_id": "nope"}}}, 422, "unknown_filter_value"),
    (
        "post",
        "/ask",
        {"json": {"question": "ok?", "filters": {"body": "Parish Pump Club"}}},
        422,
        "unknown_filter_value",
    ),
    ("post", "/ask", {"json": {"question": "ok?", "filters": {"date_from": "2018-13-45"}}}, 422, "invalid_request"),
    (
        "post",
        "/ask",
        {"json": {"question": "ok?", "filters": {"date_from": "2018-05-01", "date_to": "2018-01-01"}}},
        422,
        "bad_date_range",
    ),
    (
        "post",
        "/ask",
        {"content": b'{"question": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
        400,
        "invalid_json",
    ),
    ("post", "/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("post", "/ask", {"json": {"question": "x" * 70000}}, 413, "request_too_large"),
    ("get", "/search", {"params": {"q": ""}}, 422, "empty_question"),
    ("get", "/search", {"params": {"q": "vat", "k": 0}}, 422, "invalid_request"),
    ("get", "/search", {"params": {"q": "vat", "date_from": "yesterday"}}, 422, "invalid_request"),
    ("get", "/documents/nope", {}, 404, "document_not_found"),
    ("get", "/documents/..%2F..%2Fetc%2Fpasswd", {}, 404, None),
    ("get", "/documents/%2e%2e", {}, 404, None),
    ("get", "/no-such-endpoint", {}, 404, "not_found"),
    ("delete", "/ask", {}, 405, "method_not_allowed"),
    ("post", "/admin/reload", {}, 401, "unauthorized"),
    ("post", "/admin/reload", {"headers": {"authorization": "Bearer wrong"}}, 401, "unauthorized"),
]
# (request, status, OpenAI type, code, param): the native code, mapped to OpenAI's status and type.
OPENAI_BAD_REQUESTS = [
    ({"json": {"messages": []}}, 400, "invalid_request_error", "invalid_request", "messages"),
    (
        {"json": {"model": "x", "messages": [{"role": "wizard", "content": "hi"}]}},
        400,
        "invalid_request_error",
        "invalid_request",
        "messages.0.role",
    ),
    ({"json": {"messages": [{"role": "user", "content": "  "}]}}, 400, "invalid_request_error", "empty_question", None),
    (
        {"json": {"messages": [{"role": "user", "content": "x" * 2001}]}},
        400,
        "invalid_request_error",
        "question_too_long",
        None,
    ),
    (
        {"json": {"messages": [{"role": "user", "content": "q"}] * 22}},
        400,
        "invalid_request_error",
        "history_too_long",
        None,
    ),
    (
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        400,
        "invalid_request_error",
        "invalid_json",
        None,
    ),
    (
        {"json": {"messages": [{"role": "user", "content": "x" * 70000}]}},
        413,
        "invalid_request_error",
        "request_too_large",
        None,
    ),
]


@pytest.mark.parametrize("method,path,kwargs,status,code", BAD_REQUESTS)
def test_error_shape(client, method, path, kwargs, status, code):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert body["error"]["message"] and "Traceback" not in r.text
    if code:
        assert body["error"]["code"] == code


@pytest.mark.parametrize("kwargs,status,kind,code,param", OPENAI_BAD_REQUESTS)
def test_openai_endpoint_errors_use_openai_shape_with_the_same_codes(client, kwargs, status, kind, code, param):
    r = client.post("/v1/chat/completions", **kwargs)
    assert r.status_code == status, r.text
    assert r.json() == {"error": {"message": r.json()["error"]["message"], "type": kind, "param": param, "code": code}}
    assert r.json()["error"]["message"] and "Traceback" not in r.text


def test_openai_paths_answer_unknown_endpoints_and_missing_index_in_openai_shape(client, tmp_path, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app
    from service.settings import Settings

    r = client.get("/v1/embeddings")
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["code"] == "not_found"
    settings = Settings(index_dir=tmp_path / "missing", model=fake_embedder.model_name, start_without_index=True)
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "VAT?"}]})
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "server_error" and r.json()["error"]["code"] == "index_unavailable"


def test_unexpected_errors_use_the_shape_and_hide_the_trace(client, monkeypatch):
    from service.engine import Engine

    def boom(*a, **k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Engine, "ask", boom)
    from fastapi.testclient import TestClient

    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.post("/ask", json={"question": "anything?"})
    assert r.status_code == 500
    message = "the service hit an unexpected error; it has been logged"
    assert r.json() == {"error": {"code": "internal_error", "message": message}}
    assert "secret" not in r.text


def test_reload_is_disabled_without_a_token(app_settings, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app

    with TestClient(create_app(app_settings.model_copy(update={"admin_token": None}), embedder=fake_embedder)) as c:
        r = c.post("/admin/reload", headers={"authorization": "Bearer anything"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_disabled"


def test_security_headers_on_every_response(client):
    for r in (client.get("/"), client.get("/healthz"), client.post("/ask", json={"question": ""})):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"


def test_cors_is_off_by_default(client):
    r = client.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_can_be_enabled_for_listed_origins(app_settings, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app

    settings = app_settings.model_copy(update={"cors_origins": ["https://intranet.example.gov.uk"]})
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        ok = c.get("/healthz", headers={"origin": "https://intranet.example.gov.uk"})
        other = c.get("/healthz", headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://intranet.example.gov.uk"
    assert "access-control-allow-origin" not in other.headers


def test_every_code_has_a_native_status_and_one_openai_mapping():
    from service.errors import STATUS, ErrorCode, openai_status_and_type

    kinds = {"invalid_request_error", "authentication_error", "permission_error", "rate_limit_error", "server_error"}
    for code in ErrorCode:
        if code is ErrorCode.HTTP_ERROR:  # the framework's status travels with it
            continue
        status, kind = openai_status_and_type(code, STATUS[code])
        assert status == (400 if STATUS[code] == 422 else STATUS[code]) and kind in kinds
