"""Request and response models of /alerts (part of the HTTP API contract, pinned with the rest in
tests/service/openapi_contract.json)."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.schemas import FilterSpec, one_line


class AlertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=300, description="the question or topic to watch for")
    filters: FilterSpec | None = None
    webhook_url: str | None = Field(
        default=None, max_length=2000, description="http(s) URL that gets one JSON POST per new match"
    )
    title: str | None = Field(default=None, max_length=200)
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="minimum similarity of a matching passage (default: the service's)"
    )

    _check = field_validator("query", "title")(one_line)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        one_line(value)
        value = value.strip()
        # Parsed as the sender will parse it, so a URL saved here can always be posted to: a bad
        # port or host name (httpx.InvalidURL) is refused now rather than at every delivery.
        try:
            url = httpx.URL(value)
            url.port  # noqa: B018 (parsing the port is the check)
        except (httpx.InvalidURL, ValueError) as exc:
            raise ValueError(f"is not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        if url.userinfo:
            raise ValueError("must not carry a user name or password")
        return value


class AlertMatchOut(BaseModel):
    """A passage recorded against an alert: document text[start:end] == text at index_version."""

    id: str = Field(description="the passage key: sha256 of the document id and the passage text")
    found: str
    index_version: str
    document_id: str
    title: str
    body: str | None
    meeting_date: str | None
    item: str | None
    section: str | None
    text: str
    start: int
    end: int
    url: str
    score: float
    baseline: bool = Field(
        description="in a paper whose text the alert had already seen (when it was saved, or unchanged since its"
        " last check): listed, not announced"
    )


class AlertOut(BaseModel):
    id: str
    query: str
    filters: FilterSpec
    title: str | None
    webhook_url: str | None
    created: str
    feed_url: str
    url: str
    match_count: int = Field(description="every recorded match, baseline included")
    new_count: int = Field(description="matches found after the alert was saved (the feed's entries)")
    threshold: float
    last_checked_version: str | None


class AlertDetail(AlertOut):
    matches: list[AlertMatchOut] = Field(description="newest first, at most Settings.alert_list_limit")
