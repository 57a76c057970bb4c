"""Webhook deliveries: retries within a check, an undelivered match retried at the next check, no
redirects to another host, one sender per delivery (leases), and the payload."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.build import build_index
from service.alerts.service import AlertService
from service.engine import Engine
from service.index import load_index
from tests.service.webhook_receiver import webhook_receiver


@pytest.fixture
def settings(app_settings):
    return app_settings.model_copy(update={"alert_webhook_backoff": [0.0, 0.01, 0.01]})


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
