"""Webhook deliveries: retries within a check, an undelivered match retried at the next check, a
timer and POST /admin/reload, no redirects to another host, one sender per delivery (leases), a row
that cannot be sent never stopping the others, non-public addresses refused before each post, a
closed service never reopening its database, and the payload."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from service.alerts import webhooks
from service.alerts.service import AlertService
from service.alerts.store import AlertStoreClosed
from service.engine import Engine
from service.index import load_index
from tests.service.webhook_receiver import webhook_receiver


@pytest.fixture
def settings(app_settings):
    # the receiver listens on 127.0.0.1, which webhooks may reach only when allowed
    return app_settings.model_copy(
        update={"alert_webhook_backoff": [0.0, 0.01, 0.01], "alert_webhook_allow_private": True}
    )


class FakeTimer:
    """Stands in for threading.Timer: the test fires it, so no test waits for a clock."""

    def __init__(self, seconds: float, action) -> None:
        self.seconds, self.action = seconds, action
        self.started = self.cancelled = False

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True


def _timers() -> tuple[list[FakeTimer], Any]:
    made: list[FakeTimer] = []

    def factory(seconds: float, action) -> FakeTimer:
        made.append(FakeTimer(seconds, action))
        return made[-1]

    return made, factory


def _with_new_passages(corpus_dir, index_dir, fake_embedder, *texts: str) -> Engine:
    """Add paragraphs to a paper, rebuild, and return the engine of the new version."""
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text() + "".join(f"\n\n{t}\n" for t in texts))
    build_index(corpus_dir, index_dir, fake_embedder, progress=False)
    return Engine(load_index(index_dir, fake_embedder))


def _save(alerts: AlertService, index_dir, fake_embedder, url: str) -> str:
    engine = Engine(load_index(index_dir, fake_embedder))
    return alerts.create("Business Case", {}, "Cases", url, 0.3, lambda: engine).id


def test_a_receiver_that_is_down_gets_the_match_at_the_next_check(settings, corpus_dir, fake_embedder):
    up = {"ok": False}

    def answer(path: str, body: Any, n: int) -> tuple[int, dict[str, str]]:
        return (200, {}) if up["ok"] else (503, {})

    with webhook_receiver(answer) as hook:
        alerts = AlertService(settings)
        alert_id = _save(alerts, settings.index_dir, fake_embedder, hook.url)
        engine = _with_new_passages(
            corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted by the Panel."
        )
        assert alerts.check(engine).new_matches == 1
        assert alerts.wait_for_deliveries(timeout=60)
        (row,) = alerts.store.outbox(alert_id)
        assert (row["attempts"], row["delivered_at"], row["last_error"]) == (3, None, "HTTP 503")
        assert len(hook.posts) == 3 and hook.delivered() == []

        up["ok"] = True
        report = alerts.check(engine)  # the same version: no alert to re-match, but the outbox is retried
        assert (report.checked, report.skipped, report.new_matches) == (0, 1, 0)
        assert alerts.wait_for_deliveries(timeout=60)
        (row,) = alerts.store.outbox(alert_id)
        assert row["attempts"] == 4 and row["delivered_at"] and row["last_error"] is None
        (body,) = hook.delivered()
        assert body["match"]["text"] == "The Business Case was noted by the Panel."
        assert body["alert"] == {
            "id": alert_id,
            "query": "Business Case",
            "title": "Cases",
            "url": f"/alerts/{alert_id}",
            "feed_url": f"/alerts/{alert_id}.atom",
        }
        alerts.check(engine, force=True)
        assert alerts.wait_for_deliveries(timeout=60) and len(hook.delivered()) == 1  # delivered once only
        alerts.close()


def test_after_a_url_fails_its_other_matches_wait_for_the_next_check(settings, corpus_dir, fake_embedder):
    with webhook_receiver(lambda path, body, n: (500, {})) as hook:
        alerts = AlertService(settings)
        alert_id = _save(alerts, settings.index_dir, fake_embedder, hook.url)
        engine = _with_new_passages(
            corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.", "A Business Case followed."
        )
        assert alerts.check(engine).new_matches == 2
        assert alerts.wait_for_deliveries(timeout=60)
        assert [row["attempts"] for row in alerts.store.outbox(alert_id)] == [3, 0]
        assert len(hook.posts) == 3
        alerts.close()


@pytest.mark.parametrize("same_host", [True, False])
def test_redirects_are_followed_only_on_the_same_host(settings, corpus_dir, fake_embedder, same_host):
    def answer(path: str, body: Any, n: int) -> tuple[int, dict[str, str]]:
        if path == "/moved":
            return 200, {}
        port = hook.url.rsplit(":", 1)[1]
        host = "127.0.0.1" if same_host else "localhost"  # the same server, but another host name
        return 307, {"location": f"http://{host}:{port}/moved"}

    with webhook_receiver(answer) as hook:
        alerts = AlertService(settings.model_copy(update={"alert_webhook_backoff": [0.0]}))
        alert_id = _save(alerts, settings.index_dir, fake_embedder, f"{hook.url}/hook")
        engine = _with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.")
        alerts.check(engine)
        assert alerts.wait_for_deliveries(timeout=60)
        (row,) = alerts.store.outbox(alert_id)
        if same_host:
            assert [p[0] for p in hook.posts] == ["/hook", "/moved"] and row["delivered_at"]
        else:
            assert [p[0] for p in hook.posts] == ["/hook"] and row["delivered_at"] is None
            assert "redirect to another host refused (localhost:" in row["last_error"]
        alerts.close()


def test_a_leased_delivery_is_not_taken_by_a_second_sender(tmp_path):
    from service.alerts.models import Alert, Match
    from service.alerts.store import AlertStore

    store = AlertStore(tmp_path / "alerts.sqlite")
    store.add_alert(Alert("a", "q", {}, None, "http://127.0.0.1:9/", None, "2026-01-01T00:00:00.000000+00:00"), [])
    match = Match("k", "t", "v", "d", "T", None, None, None, None, "x", 0, 1, 0.5, False)
    store.record_check("a", "v", "2026-01-01T00:00:01.000000+00:00", [match], notify=True)
    (pending,) = store.pending_deliveries()
    assert store.lease_delivery(pending.match_seq, "2026-01-01T00:00:02", "2026-01-01T00:10:00") is True
    assert store.lease_delivery(pending.match_seq, "2026-01-01T00:00:03", "2026-01-01T00:10:00") is False
    assert store.lease_delivery(pending.match_seq, "2026-01-01T00:11:00", "2026-01-01T00:20:00") is True  # expired
    store.record_attempt(pending.match_seq, "2026-01-01T00:11:01", None)
    assert store.pending_deliveries() == []
    assert store.lease_delivery(pending.match_seq, "2026-01-02T00:00:00", "2026-01-02T00:10:00") is False  # sent


def test_a_row_that_cannot_be_sent_never_stops_the_others(settings, corpus_dir, fake_embedder, monkeypatch):
    """A URL httpx cannot parse (saved by older code, or past the API) and a row whose sending
    raises: each records its error and gives back its lease, and the other alert still gets its post."""
    real_post = webhooks.post_once

    def post(client, url, body, headers):
        if "/explodes" in url:
            raise RuntimeError("the sender broke")
        return real_post(client, url, body, headers)

    monkeypatch.setattr(webhooks, "post_once", post)
    with webhook_receiver(lambda path, body, n: (200, {})) as hook:
        alerts = AlertService(settings.model_copy(update={"alert_webhook_backoff": [0.0]}))
        bad_port = _save(alerts, settings.index_dir, fake_embedder, "http://127.0.0.1:abc/")
        explodes = _save(alerts, settings.index_dir, fake_embedder, f"{hook.url}/explodes")
        good = _save(alerts, settings.index_dir, fake_embedder, f"{hook.url}/hook")
        engine = _with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.")
        assert alerts.check(engine).new_matches == 3
        assert alerts.wait_for_deliveries(timeout=60)
        (row,) = alerts.store.outbox(bad_port)
        assert row["delivered_at"] is None and row["last_error"].startswith("InvalidURL: Invalid port")
        (row,) = alerts.store.outbox(explodes)
        assert row["delivered_at"] is None and row["last_error"] == "could not be sent: RuntimeError: the sender broke"
        (row,) = alerts.store.outbox(good)
        assert row["delivered_at"] and [p[0] for p in hook.posts] == ["/hook"]
        with sqlite3.connect(settings.alerts_path()) as conn:  # leases given back: the next pass may try again
            assert conn.execute("SELECT COUNT(*) FROM outbox WHERE leased_until IS NOT NULL").fetchone()[0] == 0
        alerts.close()


def test_non_public_targets_are_refused_before_each_post(settings, corpus_dir, fake_embedder):
    """With private targets not allowed, an alert whose URL points at 127.0.0.1 (saved while allowed,
    or a host that now resolves there) gets no post: the refusal is the attempt's error."""
    with webhook_receiver(lambda path, body, n: (200, {})) as hook:
        alerts = AlertService(settings.model_copy(update={"alert_webhook_allow_private": False}))
        alert_id = _save(alerts, settings.index_dir, fake_embedder, f"{hook.url}/hook")
        engine = _with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.")
        alerts.check(engine)
        assert alerts.wait_for_deliveries(timeout=60)
        (row,) = alerts.store.outbox(alert_id)
        assert row["delivered_at"] is None and row["attempts"] == 1
        assert row["last_error"].startswith("refused: the host 127.0.0.1 resolves to a non-public address")
        assert hook.posts == []
        alerts.close()


@pytest.mark.parametrize(
    "url,addresses,refused",
    [
        ("http://127.0.0.1/", None, True),
        ("http://169.254.169.254/latest/meta-data/", None, True),
        ("http://[::ffff:10.0.0.1]/", None, True),
        ("http://[fe80::1]/", None, True),
        ("http://224.0.0.1/", None, True),  # multicast
        ("http://93.184.215.14/", None, False),
        ("https://hooks.example.org/x", ["93.184.215.14"], False),
        ("https://hooks.example.org/x", ["93.184.215.14", "10.0.0.7"], True),  # any non-public address
        ("https://hooks.example.org/x", ["::1"], True),
    ],
)
def test_which_targets_are_public(monkeypatch, url, addresses, refused):
    def getaddrinfo(host, port, **kwargs):
        assert host == "hooks.example.org" and port == 443, "IP literals are not looked up"
        return [(None, None, None, "", (a, port)) for a in addresses or []]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    reason = webhooks.refusal_of_target(url, unresolvable_ok=False)
    assert (reason is not None) == refused, reason
    if refused:
        assert "non-public address" in reason


def test_a_host_that_does_not_resolve_is_saved_but_not_posted_to(monkeypatch):
    def getaddrinfo(host, port, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    assert webhooks.refusal_of_target("https://hooks.example.org/x", unresolvable_ok=True) is None
    assert "does not resolve" in webhooks.refusal_of_target("https://hooks.example.org/x", unresolvable_ok=False)


def test_undelivered_webhooks_are_retried_by_a_timer(settings, corpus_dir, fake_embedder):
    up = {"ok": False}
    made, factory = _timers()
    with webhook_receiver(lambda path, body, n: (200, {}) if up["ok"] else (503, {})) as hook:
        alerts = AlertService(settings.model_copy(update={"alert_webhook_retry_seconds": 42.0}), timer=factory)
        alert_id = _save(alerts, settings.index_dir, fake_embedder, hook.url)
        assert alerts.wait_for_deliveries(timeout=60) and made == []  # nothing pending, no retry
        engine = _with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.")
        alerts.check(engine)
        assert alerts.wait_for_deliveries(timeout=60)
        assert [(t.seconds, t.started) for t in made] == [(42.0, True)]
        assert hook.delivered() == []

        up["ok"] = True
        made[0].action()  # the timer fires
        assert alerts.wait_for_deliveries(timeout=60)
        assert alerts.store.outbox(alert_id)[0]["delivered_at"] and len(hook.delivered()) == 1
        assert len(made) == 1  # everything delivered: no further retry
        alerts.close()


def test_closing_cancels_the_retry_and_later_kicks(settings, corpus_dir, fake_embedder):
    made, factory = _timers()
    with webhook_receiver(lambda path, body, n: (503, {})) as hook:
        alerts = AlertService(settings, timer=factory)
        _save(alerts, settings.index_dir, fake_embedder, hook.url)
        alerts.check(_with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted."))
        assert alerts.wait_for_deliveries(timeout=60) and len(made) == 1 and not made[0].cancelled
        posts = len(hook.posts)
        alerts.close()
        assert made[0].cancelled
        made[0].action()  # a timer that fired anyway, as close() ran
        assert alerts.wait_for_deliveries(timeout=60) and len(hook.posts) == posts


def test_after_close_a_late_delivery_pass_ends_quietly_without_reopening(settings, fake_embedder, caplog):
    alerts = AlertService(settings)
    engine = Engine(load_index(settings.index_dir, fake_embedder))
    saved = alerts.create("Business Case", {}, None, "http://127.0.0.1:9/", 0.3, lambda: engine)
    alerts.close()
    with pytest.raises(AlertStoreClosed):
        alerts.store.pending_deliveries()
    with pytest.raises(AlertStoreClosed):
        alerts.store.add_alert(saved, [])
    with caplog.at_level(logging.WARNING, logger="minutes_qa.alerts"):
        alerts.deliverer._run()  # a delivery thread that was already running when the service closed
    assert alerts.store._conn is None and caplog.records == []


def test_reload_retries_undelivered_webhooks_without_a_new_version(settings, corpus_dir, fake_embedder):
    from service.api import create_app

    auth = {"authorization": "Bearer test-token"}
    settings = settings.model_copy(update={"alert_webhook_backoff": [0.0]})  # one attempt a pass
    with (
        webhook_receiver(lambda path, body, n: (500, {}) if n == 0 else (200, {})) as hook,
        TestClient(create_app(settings, embedder=fake_embedder)) as c,
    ):
        r = c.post("/alerts", json={"query": "Business Case", "threshold": 0.3, "webhook_url": hook.url}, headers=auth)
        assert r.status_code == 201, r.text
        _with_new_passages(corpus_dir, settings.index_dir, fake_embedder, "The Business Case was noted.")
        assert c.post("/admin/reload", headers=auth).json()["reloaded"] is True
        assert c.app.state.alerts.wait_for_deliveries(timeout=60)
        assert [status for *_, status in hook.posts] == [500]  # the first attempt failed

        r = c.post("/admin/reload", headers=auth)
        assert r.status_code == 200 and r.json()["reloaded"] is False
        assert c.app.state.alerts.wait_for_deliveries(timeout=60)
        assert [status for *_, status in hook.posts] == [500, 200]
