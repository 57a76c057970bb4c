"""The records of saved searches: an alert, a passage it matched, a webhook post still to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.engine import permalink


def utc_now() -> str:
    """ISO 8601 in UTC, always with microseconds, so stored times sort as strings."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Alert:
    id: str  # secrets.token_urlsafe: unguessable, because reads and feeds are open
    query: str
    filters: dict[str, Any]  # the /ask FilterSpec, lists for document_id / body / doc_type, ISO dates
    title: str | None
    webhook_url: str | None
    threshold: float | None  # the setting when saved, unless its own; None only if saved by older code
    created: str  # ISO 8601, UTC
    last_checked_version: str | None = None
    last_checked: str | None = None
    match_count: int = 0  # every recorded match, baseline included
    new_count: int = 0  # matches found after the alert was saved (the feed's entries)

    @property
    def url(self) -> str:
        return f"/alerts/{self.id}"

    @property
    def feed_url(self) -> str:
        return f"/alerts/{self.id}.atom"


@dataclass(frozen=True)
class Match:
    """A passage recorded against an alert. `id` is the passage key: sha256 of the document id and the
    passage text, so a rebuild that renumbers chunks finds the same key, and changed text a new one."""

    id: str
    found: str  # ISO 8601, UTC: the check that recorded it
    index_version: str
    document_id: str
    title: str  # the paper's title
    body: str | None
    meeting_date: str | None
    item: str | None
    section: str | None
    text: str  # verbatim: the document text [start:end] at index_version
    start: int
    end: int
    score: float  # the similarity that passed the threshold
    baseline: bool  # in a paper whose text the alert had seen (saved, or unchanged since its last check): not announced

    @property
    def url(self) -> str:
        return permalink(self.document_id, self.start, self.end)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "found": self.found,
            "index_version": self.index_version,
            "document_id": self.document_id,
            "title": self.title,
            "body": self.body,
            "meeting_date": self.meeting_date,
            "item": self.item,
            "section": self.section,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "url": self.url,
            "score": self.score,
            "baseline": self.baseline,
        }


@dataclass(frozen=True)
class PendingDelivery:
    match_seq: int
    attempts: int
    alert_id: str
    alert_query: str
    alert_title: str | None
    webhook_url: str
    match: Match
