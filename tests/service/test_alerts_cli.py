"""`minutes-qa alerts list` and `minutes-qa alerts check` (for cron after `minutes-qa index`)."""

from __future__ import annotations

import json

import pytest

from indexer.build import build_index
from service import cli
from service.alerts.service import AlertService
from service.engine import Engine
from service.index import load_index


def _run(argv: list[str]) -> int:
    try:
        cli.main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


@pytest.fixture
def env(app_settings, monkeypatch, fake_embedder):
    monkeypatch.setenv("MINUTES_QA_INDEX_DIR", str(app_settings.index_dir))
    monkeypatch.setenv("MINUTES_QA_MODEL", fake_embedder.model_name)
    monkeypatch.setattr(cli, "_embedder", lambda settings: fake_embedder)
    return app_settings


def test_with_no_alert_saved_nothing_is_loaded_or_written(env, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_engine", lambda settings: pytest.fail("the model was loaded"))
    assert _run(["alerts", "list"]) == 0 and _run(["alerts", "check"]) == 0
    assert capsys.readouterr().out == "no alerts saved\nno alerts saved\n"
    assert not env.alerts_path().exists()


def test_check_records_new_matches_once_and_list_shows_them(env, corpus_dir, fake_embedder, capsys):
    engine = Engine(load_index(env.index_dir, fake_embedder))
    alert = AlertService(env).create("Business Case", {}, None, None, 0.3, lambda: engine)
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text() + "\n\nThe Business Case was noted by the Panel.\n")
    build_index(corpus_dir, env.index_dir, fake_embedder, progress=False)

    assert _run(["alerts", "check"]) == 0
    assert "1 alert(s) checked, 0 already checked at this version, 1 new match(es)" in capsys.readouterr().out
    assert _run(["alerts", "check"]) == 0
    assert "0 alert(s) checked, 1 already checked at this version, 0 new match(es)" in capsys.readouterr().out

    assert _run(["alerts", "list"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(alert.id) and "1 new, " in line and f"feed /alerts/{alert.id}.atom" in line
    assert _run(["alerts", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["new_count"], listed["feed_url"]) == (alert.id, 1, f"/alerts/{alert.id}.atom")
