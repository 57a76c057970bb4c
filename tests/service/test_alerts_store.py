"""The alerts database: versioned migrations (fresh, up to date, partly migrated, newer than the code,
a failing migration rolled back) and what survives a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from service.alerts import store as store_module
from service.alerts.models import Alert, Match
from service.alerts.store import SCHEMA_VERSION, AlertStore, AlertStoreError


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


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
    assert _version(path) == SCHEMA_VERSION
    assert {"alerts", "matches", "outbox"} <= _tables(path)
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


def test_missing_migrations_are_applied_in_order(tmp_path, monkeypatch):
    path = tmp_path / "alerts.sqlite"
    AlertStore(path).open()  # at today's last version
    extra = ("ALTER TABLE alerts ADD COLUMN note TEXT", "CREATE TABLE seen (n INTEGER)")
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, extra))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    AlertStore(path).open()
    assert _version(path) == SCHEMA_VERSION + 1 and "seen" in _tables(path)


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
