"""Saved searches as one component: save (with the baseline), list, read, delete, and check an index
version for new matches (then hand webhook posts to the background deliverer).

What is announced: a match is new when its passage was not recorded for the alert before AND its
paper's text changed since the alert last saw it (saved or checked; a paper new to the index counts
as changed). A match in a paper whose text is unchanged is recorded as baseline (listed in the JSON
view, never in the feed or a webhook): a rebuild with another encoder or chunker, or a changed
`alert_min_similarity`, can make old passages match, and they are not news. An alert's threshold
is fixed when it is saved (the live setting then, unless it gives its own).

The API (`service/routers/alerts.py`), the engine holder's on-load callback (`service/api.py`) and
the CLI (`minutes-qa alerts check|list`) all go through `AlertService`; matching is
`service.alerts.matching`, storage `service.alerts.store`, webhooks `service.alerts.webhooks`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.alerts.matching import PassageMatch, document_hashes, find_matches
from service.alerts.models import Alert, Match, utc_now
from service.alerts.store import AlertStore
from service.alerts.webhooks import Deliverer, TimerFactory, daemon_timer
from service.engine import Engine
from service.settings import Settings
from service.validation import spec_to_filters

log = logging.getLogger("minutes_qa.alerts")


@dataclass(frozen=True)
class CheckReport:
    index_version: str
    checked: int  # alerts matched against this version
    skipped: int  # alerts already checked at this version
    new_matches: int  # announced: in the feeds, posted to webhooks
    baseline_matches: int = 0  # recorded for the first time, but in papers whose text had not changed

    def summary(self) -> str:
        return (
            f"index version {self.index_version}: {self.checked} alert(s) checked, {self.skipped} already checked"
            f" at this version, {self.new_matches} new match(es)"
        )


class AlertLimitReached(Exception):
    """As many alerts are saved as `Settings.alert_max_count` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} alerts are saved, the most this service keeps: delete one first")


class AlertService:
    def __init__(
        self, settings: Settings, sleep: Callable[[float], None] = time.sleep, timer: TimerFactory = daemon_timer
    ) -> None:
        self.settings = settings
        self.store = AlertStore(settings.alerts_path())
        self.deliverer = Deliverer(
            self.store,
            settings.alert_webhook_backoff,
            settings.alert_webhook_timeout,
            settings.public_url,
            sleep,
            allow_private=settings.alert_webhook_allow_private,
            retry_seconds=settings.alert_webhook_retry_seconds,
            timer=timer,
        )
        # Saving an alert and checking an index version take turns, so a new alert's baseline and a
        # check of a newly loaded version never miss or double-count a passage between them.
        self._lock = threading.Lock()

    def open_existing(self) -> None:
        """At start-up: migrate an existing database, or refuse one written by newer code."""
        if self.store.exists():
            self.store.open()

    def close(self) -> None:
        """At shutdown: stop deliveries and close the store for good (a late delivery thread ends)."""
        self.deliverer.close()
        self.deliverer.wait(timeout=5)
        self.store.close()

    def threshold(self, alert: Alert) -> float:
        # Saved alerts carry their threshold; only one saved by older code may lack it (pinned at its next check).
        return alert.threshold if alert.threshold is not None else self.settings.alert_min_similarity

    # -- saved searches ---------------------------------------------------------------------
    def create(
        self,
        query: str,
        filters: dict[str, Any],
        title: str | None,
        webhook_url: str | None,
        threshold: float | None,
        engine_now: Callable[[], Engine],
    ) -> Alert:
        """Save a search; what it matches in the live index now is its baseline (listed, never
        announced). `engine_now` is read under the lock: the live engine at the moment of saving."""
        with self._lock:
            if self.store.alert_count() >= self.settings.alert_max_count:
                raise AlertLimitReached(self.settings.alert_max_count)
            engine = engine_now()
            alert = Alert(
                id=secrets.token_urlsafe(16),
                query=query,
                filters=filters,
                title=title,
                webhook_url=webhook_url,
                threshold=threshold if threshold is not None else self.settings.alert_min_similarity,
                created=utc_now(),
                last_checked_version=engine.index.version,
            )
            found = self._find(engine, alert)
            baseline = [_as_match(engine, m, alert.created, baseline=True) for m in found]
            self.store.add_alert(alert, baseline, document_hashes(engine))
        saved = self.store.alert(alert.id)
        assert saved is not None
        return saved

    def alerts(self) -> list[Alert]:
        return self.store.alerts()

    def alert(self, alert_id: str) -> Alert | None:
        return self.store.alert(alert_id)

    def matches(self, alert_id: str, include_baseline: bool = True) -> list[Match]:
        return self.store.matches(alert_id, self.settings.alert_list_limit, include_baseline)

    def delete(self, alert_id: str) -> bool:
        with self._lock:
            return self.store.delete_alert(alert_id)

    # -- checking an index version ----------------------------------------------------------
    def check(self, engine: Engine, force: bool = False) -> CheckReport:
        """Record every alert's new matches in the engine's index version and queue their webhooks.
        Alerts already checked at this version are skipped unless `force`; either way nothing is
        recorded twice (passage keys). Undelivered webhooks are retried too."""
        version = engine.index.version
        checked = skipped = new = baseline = 0
        with self._lock:
            if not self.store.exists():  # no alert was ever saved
                return CheckReport(version, 0, 0, 0)
            found_at = utc_now()
            texts = document_hashes(engine)
            for alert in self.store.alerts():
                if alert.last_checked_version == version and not force:
                    skipped += 1
                    continue
                seen = self.store.seen_documents(alert.id)
                matches = [
                    _as_match(engine, m, found_at, baseline=seen.get(m.document_id) == texts[m.document_id])
                    for m in self._find(engine, alert)
                ]
                added = self.store.record_check(
                    alert.id,
                    version,
                    found_at,
                    matches,
                    notify=bool(alert.webhook_url),
                    documents=texts,
                    threshold=self.threshold(alert),
                )
                checked += 1
                new += sum(not m.baseline for m in added)
                baseline += sum(m.baseline for m in added)
        self.deliverer.kick()
        return CheckReport(version, checked, skipped, new, baseline)

    def check_on_load(self, engine: Engine) -> None:
        """The engine holder's callback: a failing check is logged and never fails the load."""
        try:
            report = self.check(engine)
        except Exception:
            log.exception("checking alerts against index version %s failed", engine.index.version)
            return
        if report.checked:
            log.info("alerts: %s", report.summary())

    def retry_deliveries(self) -> None:
        """Post undelivered webhooks now, in the background (POST /admin/reload with no new version)."""
        if self.store.exists():
            self.deliverer.kick()

    def wait_for_deliveries(self, timeout: float | None = None) -> bool:
        return self.deliverer.wait(timeout)

    def _find(self, engine: Engine, alert: Alert) -> list[PassageMatch]:
        return find_matches(engine, alert.query, spec_to_filters(alert.filters), self.threshold(alert))


def _as_match(engine: Engine, m: PassageMatch, found: str, baseline: bool) -> Match:
    doc = engine.index.documents[m.document_id]
    chunk = engine.index.chunks[m.chunk]
    return Match(
        id=m.key,
        found=found,
        index_version=engine.index.version,
        document_id=m.document_id,
        title=doc.meta.title,
        body=doc.meta.body,
        meeting_date=doc.meta.meeting_date,
        item=chunk.item,
        section=chunk.section,
        text=m.text,
        start=m.start,
        end=m.end,
        score=m.score,
        baseline=baseline,
    )
