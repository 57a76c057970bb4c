"""The alerts database: versioned migrations (fresh, up to date, partly migrated, newer than the code,
a failing migration rolled back) and what survives a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.alerts import store as store_module
from service.alerts.models import Alert, Match
from service.alerts.store import SCHEMA_VERSION, AlertStore, AlertStoreClosed, AlertStoreError


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        }


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


# What each released migration creates: a database at any version must end with exactly these.
V1_COLUMNS = {
    "alerts": ["id", "query", "filters", "title", "webhook_url", "threshold", "created", "last_checked_version",
               "last_checked"],
    "matches": ["seq", "alert_id", "passage_key", "found", "index_version", "document_id", "title", "body",
                "meeting_date", "item", "section", "text", "start", "end", "score", "baseline"],
    "outbox": ["match_seq", "attempts", "delivered_at", "last_error", "leased_until"],
}  # fmt: skip
V2_COLUMNS = {"alert_documents": ["alert_id", "document_id", "text_sha256"]}


def _at_version(path: Path, version: int) -> None:
    """A database as code that knew only the first `version` migrations left it."""
    with sqlite3.connect(path) as conn:
        for statements in store_module.MIGRATIONS[:version]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")


def _alert(alert_id: str = "a1") -> Alert:
    return Alert(alert_id, "VAT", {"body": ["Cabinet"]}, None, None, None, "2026-01-01T00:00:00.000000+00:00", "v1")


def _match(key: str, baseline: bool = False) -> Match:
    return Match(key, "2026-01-02T00:00:00.000000+00:00", "v2", "doc", "Paper", "Cabinet", None, "1", None,
                 "text", 0, 4, 0.5, baseline)  # fmt: skip


def test_reads_never_create_the_file(tmp_path):
    store = AlertStore(tmp_path / "alerts.sqlite")
    assert store.alerts() == [] and store.alert("x") is None and store.delete_alert("x") is False
    assert not (tmp_path / "alerts.sqlite").exists()


def test_a_fresh_database_gets_every_migration_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "alerts.sqlite"
    store = AlertStore(path)
    store.add_alert(_alert(), [])
    assert _version(path) == SCHEMA_VERSION == 2
    assert {t: _columns(path, t) for t in _tables(path)} == {**V1_COLUMNS, **V2_COLUMNS}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_an_up_to_date_database_is_opened_as_it_is(tmp_path):
    path = tmp_path / "alerts.sqlite"
    first = AlertStore(path)
    first.add_alert(_alert(), [_match("k1", baseline=True)])
    first.close()
    again = AlertStore(path)
    assert [a.id for a in again.alerts()] == ["a1"] and again.alert("a1").match_count == 1
    assert again.alert("a1").filters == {"body": ["Cabinet"]}
    assert _version(path) == SCHEMA_VERSION


def test_a_version_1_database_gains_what_migration_2_adds_and_keeps_its_alerts(tmp_path):
    path = tmp_path / "alerts.sqlite"
    _at_version(path, 1)
    with sqlite3.connect(path) as conn:  # an alert saved by version-1 code: no threshold of its own
        conn.execute("INSERT INTO alerts (id, query, filters, created) VALUES ('old', 'VAT', '{}', 't')")
    assert _tables(path) == set(V1_COLUMNS)
    store = AlertStore(path)
    assert [a.id for a in store.alerts()] == ["old"] and store.alert("old").threshold is None
    assert _version(path) == SCHEMA_VERSION
    assert {t: _columns(path, t) for t in _tables(path)} == {**V1_COLUMNS, **V2_COLUMNS}
    assert store.seen_documents("old") == {}
    # its first check pins the threshold it was checked at, and records the papers it saw
    store.record_check("old", "v2", "t2", [], False, documents={"doc": "h1"}, threshold=0.45)
    store.record_check("old", "v3", "t3", [], False, documents={"doc": "h2", "new": "h3"}, threshold=0.2)
    assert store.alert("old").threshold == 0.45 and store.seen_documents("old") == {"doc": "h2", "new": "h3"}
    store.close()


def test_missing_migrations_are_applied_in_order(tmp_path, monkeypatch):
    """From version 1, migrations 2, 3 and 4 run in that order, each seeing what the one before did."""
    path = tmp_path / "alerts.sqlite"
    _at_version(path, 1)
    third = (
        "CREATE TABLE applied (n INTEGER)",
        "INSERT INTO applied SELECT 3 FROM sqlite_master WHERE name = 'alert_documents'",  # 2 ran before
        "ALTER TABLE alerts ADD COLUMN note TEXT",
    )
    fourth = (
        "INSERT INTO applied SELECT 4 FROM pragma_table_info('alerts') WHERE name = 'note'",  # 3 ran before
        "ALTER TABLE matches ADD COLUMN seen_by TEXT",
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, third, fourth))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    AlertStore(path).open()
    assert _version(path) == SCHEMA_VERSION + 2
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT n FROM applied ORDER BY rowid")] == [3, 4]
    assert _columns(path, "alerts") == [*V1_COLUMNS["alerts"], "note"]
    assert _columns(path, "matches") == [*V1_COLUMNS["matches"], "seen_by"]
    assert _columns(path, "alert_documents") == V2_COLUMNS["alert_documents"]
    assert _columns(path, "outbox") == V1_COLUMNS["outbox"]


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "alerts.sqlite"
    AlertStore(path).open()
    broken = ("CREATE TABLE half_done (n INTEGER)", "ALTER TABLE no_such_table ADD COLUMN x TEXT")
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, broken))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError):
        AlertStore(path).open()
    assert _version(path) == SCHEMA_VERSION and "half_done" not in _tables(path)


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "alerts.sqlite"
    AlertStore(path).open()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AlertStoreError, match="newer than this minutes-qa knows"):
        AlertStore(path).open()


def test_a_database_newer_than_the_code_stops_the_service(tmp_path, app_settings, fake_embedder):
    from service.api import create_app
    from tests.service.test_faults import _startup_failure

    path = tmp_path / "alerts.sqlite"
    assert app_settings.alerts_path() == path  # beside the index directory
    AlertStore(path).open()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    message = _startup_failure(create_app(app_settings, embedder=fake_embedder))
    assert message.startswith(f"minutes-qa: cannot start: {path}: the alerts database has schema version")
    assert "newer than this minutes-qa knows" in message


def test_a_passage_is_recorded_once_per_alert_and_deletion_cascades(tmp_path):
    store = AlertStore(tmp_path / "alerts.sqlite")
    store.add_alert(_alert("a1"), [_match("k1", baseline=True)])
    store.add_alert(_alert("a2"), [])
    added = store.record_check("a1", "v2", "2026-01-02T00:00:00.000000+00:00", [_match("k1"), _match("k2")], True)
    assert [m.id for m in added] == ["k2"]  # k1 was already there (as baseline)
    assert [m.id for m in store.record_check("a2", "v2", "t", [_match("k1")], False)] == ["k1"]  # other alert
    assert len(store.pending_deliveries()) == 0  # neither alert has a webhook URL
    assert [o["passage_key"] for o in store.outbox("a1")] == ["k2"]
    assert store.delete_alert("a1") is True
    with sqlite3.connect(tmp_path / "alerts.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM matches WHERE alert_id = 'a1'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert store.record_check("a1", "v3", "t", [_match("k9")], True) == []  # deleted meanwhile: nothing


def test_a_closed_store_refuses_work_and_is_not_reopened(tmp_path):
    path = tmp_path / "alerts.sqlite"
    store = AlertStore(path)
    store.add_alert(_alert(), [])
    store.close()
    for use in (
        store.alerts,
        lambda: store.alert("a1"),
        store.pending_deliveries,
        store.open,
        lambda: store.delete_alert("a1"),
        lambda: store.record_check("a1", "v", "t", [], False),
    ):
        with pytest.raises(AlertStoreClosed):
            use()
    assert store._conn is None
