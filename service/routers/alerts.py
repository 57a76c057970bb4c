"""Saved searches: POST/GET/DELETE /alerts, each alert's JSON view and its Atom feed.

Saving, deleting and listing every alert need the admin token when one is configured (open
otherwise); reading one alert and its feed is open, because feed readers cannot send tokens, so
alert ids are unguessable (and the list, which would reveal them, is not open). Open reads show a
webhook URL only as its scheme and host when a token is configured and the request lacks it:
webhook URLs often carry a secret of their own. A webhook URL whose host resolves to a non-public
address is refused unless `Settings.alert_webhook_allow_private` (see service/alerts/webhooks.py).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request, Response

from service.alerts.atom import MEDIA_TYPE, render_feed
from service.alerts.models import Alert
from service.alerts.schemas import AlertCreate, AlertDetail, AlertMatchOut, AlertOut
from service.alerts.service import AlertLimitReached, AlertService
from service.alerts.webhooks import refusal_of_target
from service.deps import (
    ADMIN_IF_SET_ERRORS,
    ENGINE_ERRORS,
    AdminIfSetDep,
    AlertsDep,
    EngineDep,
    HolderDep,
    SettingsDep,
    has_admin_token,
)
from service.errors import ApiError, ErrorCode, error_responses
from service.schemas import FilterSpec
from service.settings import Settings
from service.validation import FILTER_ERRORS, check_question, check_searchable, filters_to_spec, to_filters

router = APIRouter(tags=["alerts"])
NOT_FOUND = (ErrorCode.ALERT_NOT_FOUND,)
AuthorizationHeader = Annotated[str | None, Header(description="the admin token shows webhook URLs in full")]


def _not_found(alert_id: str) -> ApiError:
    return ApiError(ErrorCode.ALERT_NOT_FOUND, f"no alert with id '{alert_id}' (it may have been deleted)")


def _webhook_shown(url: str | None, reveal: bool) -> str | None:
    if url is None or reveal:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def _alert_out(alert: Alert, alerts: AlertService, settings: Settings, authorization: str | None) -> dict[str, Any]:
    reveal = not settings.admin_token or has_admin_token(settings, authorization)
    return {
        "id": alert.id,
        "query": alert.query,
        "filters": FilterSpec.model_validate(alert.filters),
        "title": alert.title,
        "webhook_url": _webhook_shown(alert.webhook_url, reveal),
        "created": alert.created,
        "feed_url": alert.feed_url,
        "url": alert.url,
        "match_count": alert.match_count,
        "new_count": alert.new_count,
        "threshold": alerts.threshold(alert),
        "last_checked_version": alert.last_checked_version,
    }


@router.post(
    "/alerts",
    status_code=201,
    response_model=AlertOut,
    dependencies=[AdminIfSetDep],
    responses=error_responses(
        ErrorCode.INVALID_JSON,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.EMPTY_QUESTION,
        *FILTER_ERRORS,
        *ADMIN_IF_SET_ERRORS,
        *ENGINE_ERRORS,
        ErrorCode.ALERT_LIMIT_REACHED,
    ),
)
def create_alert(
    body: AlertCreate,
    engine: EngineDep,
    holder: HolderDep,
    alerts: AlertsDep,
    settings: SettingsDep,
    authorization: AuthorizationHeader = None,
) -> dict[str, Any]:
    """Save a search. Passages it matches now are recorded as its baseline (in the JSON view, not
    in the feed); passages of new or changed papers that match in later index versions are announced."""
    query = check_searchable(check_question(body.query, settings, subject="alert query"))
    # Stored as the engine reads them: refused when the index does not hold a value, as /ask does,
    # and a blank value is no filter rather than a filter that matches nothing.
    spec = filters_to_spec(to_filters(engine, body.filters))
    if body.webhook_url and not settings.alert_webhook_allow_private:
        refused = refusal_of_target(body.webhook_url, unresolvable_ok=True)
        if refused:
            raise ApiError(ErrorCode.INVALID_REQUEST, f"'webhook_url': {refused}", param="webhook_url")
    try:
        alert = alerts.create(
            query, spec, body.title, body.webhook_url, body.threshold, lambda: holder.engine or engine
        )
    except AlertLimitReached as exc:
        raise ApiError(ErrorCode.ALERT_LIMIT_REACHED, str(exc)) from None
    return _alert_out(alert, alerts, settings, authorization)


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    dependencies=[AdminIfSetDep],
    responses=error_responses(*ADMIN_IF_SET_ERRORS),
)
def list_alerts(alerts: AlertsDep, settings: SettingsDep, authorization: AuthorizationHeader = None) -> list[Any]:
    """Every saved search, newest first (needs the admin token when one is set: the list holds the
    ids that open each alert's view and feed)."""
    return [_alert_out(a, alerts, settings, authorization) for a in alerts.alerts()]


# Declared before /alerts/{alert_id}, which would otherwise take "<id>.atom" as an id.
@router.get(
    "/alerts/{alert_id}.atom",
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "an Atom 1.0 feed"},
        **error_responses(*NOT_FOUND),
    },
)
def alert_feed(alert_id: str, alerts: AlertsDep, settings: SettingsDep, request: Request) -> Response:
    """The alert's Atom feed: one entry per passage found after the alert was saved."""
    alert = alerts.alert(alert_id)
    if alert is None:
        raise _not_found(alert_id)
    base = settings.public_url or str(request.base_url)
    feed = render_feed(alert, alerts.matches(alert_id, include_baseline=False), base)
    return Response(feed, media_type=MEDIA_TYPE)


@router.get("/alerts/{alert_id}", response_model=AlertDetail, responses=error_responses(*NOT_FOUND))
def get_alert(
    alert_id: str, alerts: AlertsDep, settings: SettingsDep, authorization: AuthorizationHeader = None
) -> dict[str, Any]:
    """The alert and its matches, newest first (baseline ones marked)."""
    alert = alerts.alert(alert_id)
    if alert is None:
        raise _not_found(alert_id)
    out = _alert_out(alert, alerts, settings, authorization)
    out["matches"] = [AlertMatchOut.model_validate(m.as_dict()) for m in alerts.matches(alert_id)]
    return out


@router.delete(
    "/alerts/{alert_id}",
    status_code=204,
    response_class=Response,
    dependencies=[AdminIfSetDep],
    responses=error_responses(*ADMIN_IF_SET_ERRORS, *NOT_FOUND),
)
def delete_alert(alert_id: str, alerts: AlertsDep) -> Response:
    """Delete the alert, its matches, feed and undelivered webhooks."""
    if not alerts.delete(alert_id):
        raise _not_found(alert_id)
    return Response(status_code=204)
