"""The service itself: health for load balancers and monitors, and loading a new index version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from indexer.store import IndexLoadError
from service.deps import ADMIN_ERRORS, AdminDep, AlertsDep, HolderDep
from service.errors import ApiError, ErrorCode, error_responses
from service.schemas import HealthUnavailable

router = APIRouter(tags=["service"])


# 503 here is not an error code: health checkers read `status`, and the shape predates the vocabulary.
@router.get(
    "/healthz", response_model=None, responses={503: {"model": HealthUnavailable, "description": "no index is loaded"}}
)
def healthz(holder: HolderDep) -> Any:
    engine = holder.engine
    if engine is None:
        return JSONResponse({"status": "unavailable", "error": holder.error}, status_code=503)
    ix = engine.index
    return {
        "status": "ok",
        "index_version": ix.version,
        "documents": len(ix.documents),
        "chunks": len(ix.chunks),
        "manifest": {k: v for k, v in ix.manifest.items() if k != "files"},
    }


@router.post(
    "/admin/reload",
    response_model=None,
    dependencies=[AdminDep],
    responses=error_responses(*ADMIN_ERRORS, ErrorCode.RELOAD_FAILED),
)
def reload(holder: HolderDep, alerts: AlertsDep) -> dict[str, Any]:
    """Load the newest index version without a restart (needs MINUTES_QA_ADMIN_TOKEN); undelivered
    alert webhooks are retried either way (a new version's check retries them itself)."""
    try:
        changed = holder.reload_if_changed()
    except IndexLoadError as exc:
        raise ApiError(
            ErrorCode.RELOAD_FAILED, f"the new index was not loaded, the old one stays live: {exc}"
        ) from None
    if not changed:
        alerts.retry_deliveries()
    return {"reloaded": changed, "index_version": holder.engine.index.version if holder.engine else None}
