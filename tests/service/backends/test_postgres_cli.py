"""`minutes-qa index --database-url …` and `ask` / `search` with MINUTES_QA_DATABASE_URL."""

from __future__ import annotations

import sys

import pytest

from service import cli
from tests.conftest import FakeEmbedder


@pytest.fixture
def fake_cli(monkeypatch, fake_embedder):
    monkeypatch.setenv("MINUTES_QA_MODEL", fake_embedder.model_name)
    monkeypatch.setattr(cli, "_embedder", lambda settings: fake_embedder)
    monkeypatch.setattr(cli, "_embedder_factory", lambda settings: FakeEmbedder)
    # --workers uses the process pool here (Ray, when installed, is measured by bench/pg_embed_workers.py).
    monkeypatch.setattr("indexer.parallel_embed.ray_available", lambda: False)


def test_index_into_a_database_then_ask_from_it(fake_cli, database_url, corpus_dir, capsys, monkeypatch):
    cli.main(["index", "--database-url", database_url, "--corpus", str(corpus_dir), "--workers", "2"])
    out = capsys.readouterr().out
    assert "applied migration 0001_index_schema" in out
    assert "published database index version 1" in out and "3 documents" in out
    cli.main(["index", "--database-url", database_url, "--corpus", str(corpus_dir)])
    assert "database index is up to date (version 1)" in capsys.readouterr().out
    monkeypatch.setenv("MINUTES_QA_DATABASE_URL", database_url)
    cli.main(["ask", "When did the meeting end?"])
    assert "12.53" in capsys.readouterr().out


def test_an_unreachable_database_is_one_line_and_exit_2(fake_cli, corpus_dir, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["index", "--database-url", "postgresql://postgres@/x?host=/nonexistent", "--corpus", str(corpus_dir)])
    assert exc.value.code == 2
    assert "database problem:" in capsys.readouterr().err


def test_workers_need_a_database_build(fake_cli, corpus_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "ix"), "--workers", "2"])
    assert "--database-url" in capsys.readouterr().err


def test_a_bad_database_url_setting_is_one_line_and_exit_2(fake_cli, monkeypatch, capsys):
    monkeypatch.setenv("MINUTES_QA_DATABASE_URL", "mysql://somewhere/db")
    with pytest.raises(SystemExit) as exc:
        cli.main(["ask", "When did the meeting end?"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("minutes-qa: bad setting: MINUTES_QA_DATABASE_URL") and len(err.splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["index", "--database-url", "postgresql://postgres@/x"], ["ask", "When?"]])
def test_a_missing_postgresql_driver_says_how_to_install_it(fake_cli, monkeypatch, capsys, corpus_dir, command):
    monkeypatch.setenv("MINUTES_QA_DATABASE_URL", "postgresql://postgres@/x?host=/nonexistent")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    with pytest.raises(SystemExit) as exc:
        cli.main([*command, "--corpus", str(corpus_dir)] if command[0] == "index" else command)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "driver is not installed" in err and "pip install '.[postgres]'" in err


@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_workers_must_be_a_positive_whole_number(fake_cli, corpus_dir, capsys, workers):
    with pytest.raises(SystemExit) as exc:
        cli.main(["index", "--database-url", "postgresql://postgres@/x", "--workers", workers])
    assert exc.value.code == 2
    assert "--workers" in capsys.readouterr().err
