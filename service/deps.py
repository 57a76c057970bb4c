"""FastAPI dependencies shared by the routers: the app's settings, the engine holder, the live
engine and the admin check.

A dependency that can refuse a request lists the codes it raises (`ENGINE_ERRORS`, `ADMIN_ERRORS`),
so a route that uses it documents them in its OpenAPI `responses=`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from service.engine import Engine
from service.errors import ApiError, ErrorCode
from service.settings import Settings
from service.state import EngineHolder

ENGINE_ERRORS = (ErrorCode.INDEX_UNAVAILABLE,)
ADMIN_ERRORS = (ErrorCode.ADMIN_DISABLED, ErrorCode.UNAUTHORIZED)


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_holder(request: Request) -> EngineHolder:
    return request.app.state.holder


def get_engine(holder: Annotated[EngineHolder, Depends(get_holder)]) -> Engine:
    engine = holder.engine  # one reference for the whole request: a reload never mixes two versions
    if engine is None:
        raise ApiError(ErrorCode.INDEX_UNAVAILABLE, f"the index is not loaded: {holder.error}")
    return engine


SettingsDep = Annotated[Settings, Depends(app_settings)]
HolderDep = Annotated[EngineHolder, Depends(get_holder)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def require_admin(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Admin operations need MINUTES_QA_ADMIN_TOKEN set, and that token as a bearer token."""
    if not settings.admin_token:
        raise ApiError(
            ErrorCode.ADMIN_DISABLED, "admin operations are disabled: set MINUTES_QA_ADMIN_TOKEN to enable them"
        )
    supplied = (authorization or "").removeprefix("Bearer ").strip()
    # compare_digest: the time taken does not reveal how much of a guessed token was right
    if not supplied or not hmac.compare_digest(supplied.encode(), settings.admin_token.encode()):
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "a valid admin token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)
