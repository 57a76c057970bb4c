"""FastAPI dependencies shared by the routers: the app's settings, the engine holder, the live
engine, the saved searches and the admin checks.

A dependency that can refuse a request lists the codes it raises (`ENGINE_ERRORS`, `ADMIN_ERRORS`,
`ADMIN_IF_SET_ERRORS`), so a route that uses it documents them in its OpenAPI `responses=`.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request

from service.alerts.service import AlertService
from service.engine import Engine
from service.errors import ApiError, ErrorCode
from service.schemas import FilterSpec
from service.settings import Settings
from service.state import EngineHolder

ENGINE_ERRORS = (ErrorCode.INDEX_UNAVAILABLE,)
ADMIN_ERRORS = (ErrorCode.ADMIN_DISABLED, ErrorCode.UNAUTHORIZED)
ADMIN_IF_SET_ERRORS = (ErrorCode.UNAUTHORIZED,)


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> EngineHolder:
    return request.app.state.holder


def get_engine(holder: Annotated[EngineHolder, Depends(get_holder)]) -> Engine:
    engine = holder.engine  # one reference for the whole request: a reload never mixes two versions
    if engine is None:
        raise ApiError(ErrorCode.INDEX_UNAVAILABLE, f"the index is not loaded: {holder.error}")
    return engine


def get_alerts(request: Request) -> AlertService:
    return request.app.state.alerts


def filter_query(
    document_id: Annotated[list[str] | None, Query()] = None,
    body: Annotated[list[str] | None, Query()] = None,
    doc_type: Annotated[list[Literal["minutes", "agenda", "report"]] | None, Query()] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> FilterSpec:
    """The filters of a GET route's query string (/search, /history), as /ask takes them in its body;
    `validation.to_filters` checks them against the index."""
    return FilterSpec(document_id=document_id, body=body, doc_type=doc_type, date_from=date_from, date_to=date_to)


SettingsDep = Annotated[Settings, Depends(app_settings)]
HolderDep = Annotated[EngineHolder, Depends(get_holder)]
EngineDep = Annotated[Engine, Depends(get_engine)]
AlertsDep = Annotated[AlertService, Depends(get_alerts)]
FilterQueryDep = Annotated[FilterSpec, Depends(filter_query)]


def has_admin_token(settings: Settings, authorization: str | None) -> bool:
    """Whether the request carries the configured admin token as a bearer token."""
    if not settings.admin_token:
        return False
    supplied = (authorization or "").removeprefix("Bearer ").strip()
    # compare_digest: the time taken does not reveal how much of a guessed token was right
    return bool(supplied) and hmac.compare_digest(supplied.encode(), settings.admin_token.encode())


def _unauthorized() -> ApiError:
    return ApiError(
        ErrorCode.UNAUTHORIZED,
        "a valid admin token is required (Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_admin(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Admin operations need MINUTES_QA_ADMIN_TOKEN set, and that token as a bearer token."""
    if not settings.admin_token:
        raise ApiError(
            ErrorCode.ADMIN_DISABLED, "admin operations are disabled: set MINUTES_QA_ADMIN_TOKEN to enable them"
        )
    if not has_admin_token(settings, authorization):
        raise _unauthorized()


def require_admin_if_set(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Changes anyone may make on an open service (saving and deleting alerts): with
    MINUTES_QA_ADMIN_TOKEN set they need it as a bearer token, without it they are open."""
    if settings.admin_token and not has_admin_token(settings, authorization):
        raise _unauthorized()


AdminDep = Depends(require_admin)
AdminIfSetDep = Depends(require_admin_if_set)
