"""The FastAPI app: start-up (loading the index), request limits and security headers, error
handling, the web chat page, and the routers (`service.routers`) that hold the endpoints."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from indexer.embed import Embedder, EncoderMissing, load_embedder
from indexer.store import IndexLoadError
from service import __version__
from service.alerts.service import AlertService
from service.alerts.store import AlertStoreError
from service.backends.holder import make_holder
from service.errors import ApiError, ErrorCode, error_responses, install_error_handlers, render
from service.routers import admin, alerts, answers, openai, papers
from service.settings import STATIC_DIR, Settings, get_settings

SECURITY_HEADERS = {
    # Only the app's own scripts and styles run; nothing a paper contains can execute.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# The size limit below applies to every request, whatever its route, so every route documents it.
TOO_LARGE = (ErrorCode.REQUEST_TOO_LARGE,)


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "holder", None) is not None:  # already loaded by the caller (tests, tools)
            yield
            return
        try:
            app.state.alerts.open_existing()  # a database written by newer code stops the start
        except (AlertStoreError, sqlite3.Error) as exc:
            raise SystemExit(f"minutes-qa: cannot start: {settings.alerts_path()}: {exc}") from None
        if settings.encoder_backend == "torch":
            import torch

            torch.set_num_threads(settings.torch_threads)
        try:
            embedder_ = embedder or load_embedder(settings.model, settings.encoder_backend, settings.torch_threads)
        except (EncoderMissing, ValueError) as exc:  # not built here, or ONNX vectors not PyTorch's
            raise SystemExit(f"minutes-qa: cannot start: {exc}") from None
        # The index folder's engine, or the database's when MINUTES_QA_DATABASE_URL is set.
        holder = make_holder(settings, embedder_)
        # Every index version the service loads (now and at each reload) is checked for new alert matches.
        holder.on_load(app.state.alerts.check_on_load)
        app.state.holder = holder
        try:
            try:
                holder.load()
            except IndexLoadError as exc:
                if not settings.start_without_index:
                    raise SystemExit(f"minutes-qa: cannot start: {exc}") from None
            yield
        finally:
            holder.close()  # a database holder's poll and connections
            app.state.alerts.close()

    app = FastAPI(
        title="minutes-qa",
        version=__version__,
        lifespan=lifespan,
        description="Extractive question answering over council meeting papers, with exact citations.",
    )
    app.state.settings = settings
    app.state.alerts = AlertService(settings)  # touches no file until an alert is saved or read
    install_error_handlers(app)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Authorization"],
        )

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        limit = settings.max_request_bytes
        too_large = ApiError(ErrorCode.REQUEST_TOO_LARGE, f"the request body is over {limit} bytes")
        length = request.headers.get("content-length")
        response: Response
        if length is not None and (not length.isdigit() or int(length) > settings.max_request_bytes):
            response = render(request, too_large)
        elif length is None and request.method in ("POST", "PUT", "PATCH") and request.headers.get("transfer-encoding"):
            body = b""
            async for part in request.stream():
                body += part
                if len(body) > settings.max_request_bytes:
                    break
            if len(body) > settings.max_request_bytes:
                response = render(request, too_large)
            else:
                request._body = body  # replay the body we already read
                response = await call_next(request)
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    for module in (answers, papers, admin, alerts):
        app.include_router(module.router, responses=error_responses(*TOO_LARGE))
    app.include_router(openai.router, responses=error_responses(*TOO_LARGE, openai=True))

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document without the 422 FastAPI adds to every route that has parameters: its body
    (`HTTPValidationError`) is never sent (service.errors renders every 422), and routes whose input
    can be refused declare their 422 themselves."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = FastAPI.openapi(app)  # FastAPI's own document (cached on the app), trimmed in place
    for operations in schema["paths"].values():
        for operation in operations.values():
            refused = operation["responses"].get("422", {})
            if "HTTPValidationError" in str(refused):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    return schema
