"""Webhook deliveries: one JSON POST per new match, off the request path, with retries.

A check queues a row in the outbox for each new match of an alert with a `webhook_url` and calls
`Deliverer.kick()`; a background thread then posts every undelivered row, oldest first. Each row
gets one attempt per entry of `backoff` (seconds to wait before that attempt: by default at once,
after 1 s and after 4 s). A row still undelivered after its attempts stays in the outbox with its
error and is tried again at the next check, so a receiver that was down gets everything later,
and each match is delivered once (the row is marked delivered on the first 2xx).

When every attempt at one URL failed, the rest of that URL's rows wait for the next check rather
than each spending the whole backoff on a receiver that is down.

A sender leases a row before posting it (`AlertStore.lease_delivery`), so the service and a
`minutes-qa alerts check` run at the same time never both post it. Redirects are followed only to
the same scheme, host and port (at most 3): a webhook is never sent on to another host.

Receivers should still de-duplicate by the `Idempotency-Key` header (alert id and match id): if a
receiver took a post but its answer was lost, the post is sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from service.alerts.models import PendingDelivery, utc_now
from service.alerts.store import AlertStore

log = logging.getLogger("minutes_qa.alerts")
MAX_REDIRECTS = 3


def payload(delivery: PendingDelivery, public_url: str | None) -> dict[str, Any]:
    """What the receiver gets: the alert, and the match as GET /alerts/{id} lists it (its `url`
    absolute when `public_url` is set)."""
    base = (public_url or "").rstrip("/")
    match = delivery.match.as_dict()
    match["url"] = base + delivery.match.url
    alert = {
        "id": delivery.alert_id,
        "query": delivery.alert_query,
        "title": delivery.alert_title,
        "url": f"{base}/alerts/{delivery.alert_id}",
        "feed_url": f"{base}/alerts/{delivery.alert_id}.atom",
    }
    return {"alert": alert, "match": match}


def post_once(client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> str | None:
    """One delivery attempt: None when the receiver answered 2xx, else why not."""
    origin = urlsplit(url)[:2]
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        if response.is_success:
            return None
        if not response.is_redirect:
            return f"HTTP {response.status_code}"
        target = urljoin(url, response.headers.get("location", ""))
        if urlsplit(target)[:2] != origin:
            return f"HTTP {response.status_code}: redirect to another host refused ({urlsplit(target).netloc})"
        url = target
    return f"more than {MAX_REDIRECTS} redirects"


class Deliverer:
    """Runs the outbox in one background thread at a time."""

    def __init__(
        self,
        store: AlertStore,
        backoff: list[float],
        timeout: float,
        public_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.backoff, self.timeout, self.public_url = store, list(backoff), timeout, public_url
        self._sleep = sleep
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False  # a kick arrived while a pass was running: run one more
        self._stopping = threading.Event()

    def kick(self) -> None:
        """Deliver whatever is pending, in the background."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._again = False
            self._stopping.clear()  # a stop ends the running pass only; later checks deliver again
            self._thread = threading.Thread(target=self._run, name="alert-webhooks", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the background deliveries are done; False if they are still running."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def stop(self) -> None:
        """Stop the running pass between attempts (at shutdown); undelivered rows stay for the next check."""
        self._stopping.set()

    def _run(self) -> None:
        while True:
            try:
                self.deliver_pending()
            except Exception:  # a broken database must not kill the service; it is logged
                log.exception("webhook deliveries failed")
            with self._lock:
                if not self._again or self._stopping.is_set():
                    self._thread = None  # decided under the lock: a later kick starts a new thread
                    return
                self._again = False

    def deliver_pending(self) -> tuple[int, int]:
        """Post every pending row once through the backoff; (delivered, still pending)."""
        delivered = failed = 0
        down: set[str] = set()  # URLs whose every attempt failed in this pass
        # The lease outlasts every attempt and wait of one row, so no other sender takes it meanwhile.
        lease = sum(self.backoff) + len(self.backoff) * self.timeout * (MAX_REDIRECTS + 1) + 60
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            for delivery in self.store.pending_deliveries():
                if self._stopping.is_set():
                    break
                if delivery.webhook_url in down:
                    failed += 1
                    continue
                now = dt.datetime.now(dt.UTC)
                until = (now + dt.timedelta(seconds=lease)).isoformat(timespec="microseconds")
                if not self.store.lease_delivery(delivery.match_seq, now.isoformat(timespec="microseconds"), until):
                    continue  # another sender has it
                if self._deliver(client, delivery):
                    delivered += 1
                else:
                    failed += 1
                    down.add(delivery.webhook_url)
                    self.store.release_delivery(delivery.match_seq)
        return delivered, failed

    def _deliver(self, client: httpx.Client, delivery: PendingDelivery) -> bool:
        body = payload(delivery, self.public_url)
        headers = {
            "User-Agent": "minutes-qa-alerts",
            "Idempotency-Key": f"{delivery.alert_id}:{delivery.match.id}",
        }
        for wait in self.backoff:
            if wait:
                self._sleep(wait)
            if self._stopping.is_set():
                return False
            error = post_once(client, delivery.webhook_url, body, headers)
            self.store.record_attempt(delivery.match_seq, utc_now(), error)
            if error is None:
                return True
            log.warning("webhook for alert %s failed: %s", delivery.alert_id, error)
        return False
