"""Webhook deliveries: one JSON POST per new match, off the request path, with retries.

A check queues a row in the outbox for each new match of an alert with a `webhook_url` and calls
`Deliverer.kick()`; a background thread then posts every undelivered row, oldest first. Each row
gets one attempt per entry of `backoff` (seconds to wait before that attempt: by default at once,
after 1 s and after 4 s). A row still undelivered after its attempts stays in the outbox with its
error and is tried again after `retry_seconds` (Settings.alert_webhook_retry_seconds), at the
next check or at `POST /admin/reload`, so a receiver that was down gets everything later, and each
match is delivered once (the row is marked delivered on the first 2xx). One row that cannot be sent
at all (a URL the sender refuses) records its error and never stops the others.

Unless `allow_private` (Settings.alert_webhook_allow_private), a webhook may only reach global
addresses: its host is resolved before every attempt, and one that resolves to a loopback,
link-local, private or otherwise non-global address is refused (the refusal is the attempt's error),
so a saved alert cannot make the service post to itself or its private network (SSRF). The API
refuses such a URL when the alert is saved, too (`refusal_of_target`).

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
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from service.alerts.models import PendingDelivery, utc_now
from service.alerts.store import AlertStore, AlertStoreClosed

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


def _addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is its own); raises OSError when it does not."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id ("fe80::1%eth0") is not global
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return ip.is_global and not ip.is_multicast


def refusal_of_target(url: str, *, unresolvable_ok: bool) -> str | None:
    """Why a webhook may not be posted to `url` (a host with a non-global address), or None.

    A host that does not resolve is refused only when not `unresolvable_ok`: at save time a name
    that does not resolve yet is accepted (each attempt checks again); at delivery it cannot be sent.
    """
    try:
        parsed = httpx.URL(url)
        host, port = parsed.raw_host.decode("ascii"), parsed.port or (443 if parsed.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"invalid URL: {exc}"
    try:
        addresses = _addresses(host, port)
    except (OSError, UnicodeError) as exc:
        return None if unresolvable_ok else f"the host {host} does not resolve: {exc}"
    private = [a for a in addresses if not _is_public(a)]
    if private:
        return (
            f"the host {host} resolves to a non-public address ({', '.join(private)}); webhooks may only reach"
            " public addresses unless MINUTES_QA_ALERT_WEBHOOK_ALLOW_PRIVATE is set"
        )
    return None


def post_once(client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]) -> str | None:
    """One delivery attempt: None when the receiver answered 2xx, else why not."""
    origin = urlsplit(url)[:2]
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = client.post(url, json=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is not an HTTPError
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


class Timer(Protocol):
    def start(self) -> None: ...
    def cancel(self) -> None: ...


TimerFactory = Callable[[float, Callable[[], None]], Timer]


def daemon_timer(seconds: float, action: Callable[[], None]) -> Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True  # a pending retry never keeps the process alive
    return timer


class Deliverer:
    """Runs the outbox in one background thread at a time."""

    def __init__(
        self,
        store: AlertStore,
        backoff: list[float],
        timeout: float,
        public_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        *,
        allow_private: bool = False,
        retry_seconds: float = 300.0,
        timer: TimerFactory = daemon_timer,
    ) -> None:
        self.store, self.backoff, self.timeout, self.public_url = store, list(backoff), timeout, public_url
        self.allow_private, self.retry_seconds = allow_private, retry_seconds
        self._sleep, self._timer_factory = sleep, timer
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry: Timer | None = None  # the scheduled retry of rows a pass left undelivered
        self._again = False  # a kick arrived while a pass was running: run one more
        self._stopping = threading.Event()
        self._closed = False

    def kick(self) -> None:
        """Deliver whatever is pending, in the background."""
        with self._lock:
            if self._closed:
                return
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

    def close(self) -> None:
        """For good (the service is shutting down): stop the pass, cancel the retry, refuse later kicks."""
        with self._lock:
            self._closed = True
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
        self.stop()

    def _schedule_retry(self) -> None:
        with self._lock:
            if self._closed or self._stopping.is_set():
                return
            if self._retry is not None:
                self._retry.cancel()
            self._retry = self._timer_factory(self.retry_seconds, self._retry_now)
            self._retry.start()

    def _retry_now(self) -> None:
        with self._lock:
            self._retry = None
        self.kick()

    def _run(self) -> None:
        while True:
            undelivered = 0
            try:
                _, undelivered = self.deliver_pending()
            except AlertStoreClosed:  # the service closed the store meanwhile: nothing left to do
                with self._lock:
                    self._thread = None
                return
            except Exception:  # a broken database must not kill the service; it is logged
                log.exception("webhook deliveries failed")
            with self._lock:
                again = self._again and not self._stopping.is_set()
                self._again = False
                if not again:
                    self._thread = None  # decided under the lock: a later kick starts a new thread
            if not again:
                if undelivered:
                    self._schedule_retry()
                return

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
                try:
                    ok = self._deliver(client, delivery)
                except AlertStoreClosed:
                    raise
                except Exception as exc:  # one row that cannot be sent never ends the pass for the others
                    log.exception("webhook for alert %s could not be sent", delivery.alert_id)
                    self._record_failure(delivery, f"could not be sent: {exc.__class__.__name__}: {exc}")
                    ok = False
                if ok:
                    delivered += 1
                else:
                    failed += 1
                    down.add(delivery.webhook_url)
                    self.store.release_delivery(delivery.match_seq)
        return delivered, failed

    def _record_failure(self, delivery: PendingDelivery, error: str) -> None:
        try:
            self.store.record_attempt(delivery.match_seq, utc_now(), error)
        except AlertStoreClosed:
            raise
        except Exception:
            log.exception("recording the failed webhook for alert %s failed", delivery.alert_id)

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
            if not self.allow_private:
                # checked before every attempt: a host may resolve elsewhere than when it was saved
                refused = refusal_of_target(delivery.webhook_url, unresolvable_ok=False)
                if refused is not None:
                    self.store.record_attempt(delivery.match_seq, utc_now(), f"refused: {refused}")
                    log.warning("webhook for alert %s refused: %s", delivery.alert_id, refused)
                    return False  # retrying within the pass would not change the address
            error = post_once(client, delivery.webhook_url, body, headers)
            self.store.record_attempt(delivery.match_seq, utc_now(), error)
            if error is None:
                return True
            log.warning("webhook for alert %s failed: %s", delivery.alert_id, error)
        return False
