"""One error vocabulary for the whole service, rendered in two shapes.

Every refusal is an `ApiError` carrying an `ErrorCode`; the code fixes the HTTP status
(`STATUS`). The same error is rendered in one of two shapes, chosen by the path:

- the native API (everything outside `/v1`): ``{"error": {"code": "...", "message": "..."}}`` with
  the code's own status: 400 for a body that is not JSON, 422 for input that is well-formed but
  cannot be answered (empty question, unknown filter value, ...), 401/403/404/409/413/503 as named;
- the OpenAI-compatible endpoint (`/v1/...`): OpenAI's ``{"error": {"message", "type", "param",
  "code"}}``, because the official clients read `type` and the status. `openai_status_and_type`
  maps the same code onto OpenAI's conventions: every invalid request is a 400
  `invalid_request_error` (the native API says 422), and `code` carries the native code unchanged.

The CLI reuses the vocabulary too: service-layer checks (`service.validation`) raise `ApiError`,
and the CLI prints its message.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.schemas import ErrorResponse, OpenAIErrorResponse

log = logging.getLogger("minutes_qa")

OPENAI_PREFIX = "/v1"  # paths under it answer errors in OpenAI's shape


class ErrorCode(StrEnum):
    """Every error code the service answers with (the native `error.code`, the OpenAI `error.code`)."""

    INVALID_JSON = "invalid_json"  # the body is not JSON (or not UTF-8)
    INVALID_REQUEST = "invalid_request"  # wrong type, unknown field, value out of range, no question
    EMPTY_QUESTION = "empty_question"
    QUESTION_TOO_LONG = "question_too_long"
    HISTORY_TOO_LONG = "history_too_long"
    UNKNOWN_FILTER_VALUE = "unknown_filter_value"
    BAD_DATE_RANGE = "bad_date_range"
    DOCUMENT_NOT_FOUND = "document_not_found"
    MEETING_NOT_FOUND = "meeting_not_found"
    ALERT_NOT_FOUND = "alert_not_found"
    ALERT_LIMIT_REACHED = "alert_limit_reached"
    UNAUTHORIZED = "unauthorized"
    ADMIN_DISABLED = "admin_disabled"
    RELOAD_FAILED = "reload_failed"
    REQUEST_TOO_LARGE = "request_too_large"
    INDEX_UNAVAILABLE = "index_unavailable"
    INTERNAL_ERROR = "internal_error"
    # Raised by the framework itself (routing, methods, content negotiation), not by our code.
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNAVAILABLE = "unavailable"
    HTTP_ERROR = "http_error"  # any other framework status; the status travels with the error


STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.EMPTY_QUESTION: 422,
    ErrorCode.QUESTION_TOO_LONG: 422,
    ErrorCode.HISTORY_TOO_LONG: 422,
    ErrorCode.UNKNOWN_FILTER_VALUE: 422,
    ErrorCode.BAD_DATE_RANGE: 422,
    ErrorCode.DOCUMENT_NOT_FOUND: 404,
    ErrorCode.MEETING_NOT_FOUND: 404,
    ErrorCode.ALERT_NOT_FOUND: 404,
    ErrorCode.ALERT_LIMIT_REACHED: 409,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.ADMIN_DISABLED: 403,
    ErrorCode.RELOAD_FAILED: 409,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.INDEX_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNAVAILABLE: 503,
}
# The framework's own HTTP errors (unknown path, wrong method, ...) get a code by status.
_FRAMEWORK_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    413: ErrorCode.REQUEST_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    503: ErrorCode.UNAVAILABLE,
}


class ApiError(Exception):
    """A refusal with a code from the vocabulary; `param` names the offending field when known."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.headers, self.param = code, message, headers, param
        self.status = status if status is not None else STATUS[code]


def openai_status_and_type(code: ErrorCode, status: int) -> tuple[int, str]:
    """The one mapping from the native code and status to OpenAI's status and error `type`."""
    if status == 422:  # OpenAI answers every request it cannot take with 400
        status = 400
    if status >= 500:
        return status, "server_error"
    kind = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    return status, kind.get(status, "invalid_request_error")


def is_openai_path(path: str) -> bool:
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def render(request: Request, err: ApiError) -> JSONResponse:
    """The response for an error, in the shape the request's path speaks."""
    if is_openai_path(request.url.path):
        status, kind = openai_status_and_type(err.code, err.status)
        body: dict[str, Any] = {"message": err.message, "type": kind, "param": err.param, "code": err.code.value}
        return JSONResponse({"error": body}, status_code=status, headers=err.headers)
    return JSONResponse(
        {"error": {"code": err.code.value, "message": err.message}}, status_code=err.status, headers=err.headers
    )


def error_responses(*codes: ErrorCode, openai: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the codes a route can answer with, one entry per status, naming the codes."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        status = STATUS[code]
        if openai:
            status, _ = openai_status_and_type(code, status)
        if code.value not in by_status.setdefault(status, []):
            by_status[status].append(code.value)
    model = OpenAIErrorResponse if openai else ErrorResponse
    return {
        status: {"model": model, "description": "error code: " + ", ".join(names)}
        for status, names in sorted(by_status.items())
    }


# -- turning every exception into an ApiError ---------------------------------------------------
def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        return f"unknown field '{where}'"
    if err.get("type") == "missing":
        return f"'{where}' is required"
    return f"'{where}': {msg}" if where else msg


def _as_api_error(request: Request, exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return ApiError(ErrorCode.INVALID_JSON, "the request body is not valid JSON (UTF-8)")
        message = "; ".join(_describe(e) for e in errors[:5]) or "invalid request"
        return ApiError(ErrorCode.INVALID_REQUEST, message)
    if isinstance(exc, StarletteHTTPException):
        code = _FRAMEWORK_CODES.get(exc.status_code, ErrorCode.HTTP_ERROR)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and "parsing the body" in message:
            code, message = ErrorCode.INVALID_JSON, "the request body is not valid JSON (UTF-8)"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.url.path}"
        return ApiError(code, message, status=exc.status_code, headers=getattr(exc, "headers", None))
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return ApiError(ErrorCode.INTERNAL_ERROR, "the service hit an unexpected error; it has been logged")


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return render(request, _as_api_error(request, exc))


def install_error_handlers(app: FastAPI) -> None:
    """One handler for every error the app can raise: our refusals, schema validation, the
    framework's HTTP errors (unknown path, wrong method) and unexpected exceptions (logged, no trace)."""
    for exc_type in (ApiError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, _handle)
