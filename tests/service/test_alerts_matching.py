"""The match rule (similarity threshold and a shared content word, inside the filters), passage
identity across rebuilds, and checking index versions through `AlertService`: only passages of
changed or new papers are announced, whatever else a rebuild changed (threshold, encoder)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indexer.build import build_index
from service.alerts.matching import find_matches, passage_key
from service.alerts.service import AlertService
from service.engine import Engine
from service.index import load_index
from service.retrieval import Filters
from service.validation import filters_to_spec, spec_to_filters
from tests.conftest import FakeEmbedder


@pytest.fixture
def engine(built_index, fake_embedder) -> Engine:
    return Engine(load_index(built_index, fake_embedder))


def test_matches_are_deterministic_best_first_and_cite_exact_spans(engine):
    first = find_matches(engine, "Business Case", Filters(), 0.3)
    assert first == find_matches(engine, "Business Case", Filters(), 0.3) and len(first) >= 3
    assert [m.score for m in first] == sorted((m.score for m in first), reverse=True)
    for m in first:
        assert engine.index.documents[m.document_id].text[m.start : m.end] == m.text
        assert m.key == passage_key(m.document_id, m.text)


def test_a_higher_threshold_keeps_a_subset(engine):
    loose = {m.key for m in find_matches(engine, "Business Case", Filters(), 0.3)}
    strict = {m.key for m in find_matches(engine, "Business Case", Filters(), 0.6)}
    assert strict and strict < loose


def test_similar_vectors_without_a_shared_word_do_not_match(engine, fake_embedder):
    """The fake embedder hashes words into 64 buckets, so unrelated words share buckets: some passage
    is similar to "zebra crossing" by vector, yet none shares a word with it."""
    query = "zebra crossing"
    qvec = fake_embedder.encode([query])[0]
    assert float(np.max(engine.index.chunk_vectors @ qvec)) > 0.2
    assert find_matches(engine, query, Filters(), 0.0) == []


def test_filters_are_hard(engine):
    spec = {"doc_type": ["agenda"]}
    inside = find_matches(engine, "Business Case", spec_to_filters(spec), 0.0)
    assert inside and {m.document_id for m in inside} == {"options-analysis-2017-12-14"}
    stored = Filters((), ("Cabinet",), (), dt.date(2018, 1, 1), None)
    assert spec_to_filters({"date_from": "2018-01-01", "body": "Cabinet"}) == stored
    assert filters_to_spec(stored) == {"body": ["Cabinet"], "date_from": "2018-01-01"}
    assert spec_to_filters(filters_to_spec(stored)) == stored


def test_passage_identity_is_document_and_text_only():
    assert passage_key("doc", "text") == passage_key("doc", "text")
    assert len({passage_key("doc", "text"), passage_key("doc", "text."), passage_key("other", "text")}) == 3


def test_checks_record_only_new_passages_and_a_changed_passage_is_new(
    app_settings, corpus_dir, built_index, fake_embedder
):
    alerts = AlertService(app_settings)
    engine = Engine(load_index(built_index, fake_embedder))
    alert = alerts.create("Business Case", {}, None, None, 0.3, lambda: engine)
    baseline = alerts.matches(alert.id)
    assert baseline and all(m.baseline for m in baseline)
    assert alerts.check(engine).skipped == 1  # already checked at this version
    assert alerts.check(engine, force=True).new_matches == 0  # forced: same passages, nothing new

    paper = corpus_dir / "options-analysis-2017-12-14.md"
    paper.write_text(paper.read_text().replace("31<sup>st</sup> March 2018", "30<sup>th</sup> April 2019"))
    build_index(corpus_dir, built_index, fake_embedder, progress=False)
    newer = Engine(load_index(built_index, fake_embedder))
    report = alerts.check(newer)
    assert (report.checked, report.new_matches, report.index_version) == (1, 1, newer.index.version)
    (new,) = [m for m in alerts.matches(alert.id) if not m.baseline]
    assert new.text == "The business case must be completed by 30th April 2019."
    assert newer.index.documents[new.document_id].text[new.start : new.end] == new.text
    assert alerts.alert(alert.id).last_checked_version == newer.index.version
    assert alerts.check(newer, force=True).new_matches == 0
    alerts.close()


def test_a_check_with_no_saved_alert_writes_nothing(app_settings, engine):
    alerts = AlertService(app_settings)
    assert alerts.check(engine).checked == 0
    assert not app_settings.alerts_path().exists()


def test_a_failing_on_load_callback_never_fails_a_load(built_index, fake_embedder):
    from service.state import EngineHolder

    holder, seen = EngineHolder(built_index, fake_embedder), []
    holder.on_load(lambda engine: seen.append(engine.index.version))
    holder.on_load(lambda engine: 1 / 0)
    holder.on_load(lambda engine: seen.append("after"))
    engine = holder.load()
    assert holder.engine is engine and seen == [engine.index.version, "after"]


class BroaderFakeEmbedder(FakeEmbedder):
    """Another "encoder": every vector shares one more direction, so every similarity rises (as a
    new encoder's scale can) and passages below the threshold before pass it now."""

    model_name = "fake/bag-of-words-64-broader"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = super().encode(texts)
        out[:, 0] += 0.7
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _announced(alerts: AlertService, alert_id: str) -> list[str]:
    return [m.text for m in alerts.matches(alert_id, include_baseline=False)]


def test_a_rebuild_with_a_new_threshold_setting_announces_nothing(app_settings, built_index, fake_embedder):
    """An alert saved without its own threshold keeps the setting of the day it was saved; and even
    its matches at a lower threshold would be in unchanged papers."""
    engine = Engine(load_index(built_index, fake_embedder))
    alerts = AlertService(app_settings.model_copy(update={"alert_min_similarity": 0.45}))
    alert = alerts.create("Business Case", {}, None, None, None, lambda: engine)
    assert alert.threshold == 0.45
    assert len(find_matches(engine, "Business Case", Filters(), 0.2)) > alert.match_count  # lower finds more
    alerts.close()

    later = AlertService(app_settings.model_copy(update={"alert_min_similarity": 0.2}))
    build_index(app_settings.corpus_dir, built_index, fake_embedder, progress=False, force=True)  # no paper changed
    report = later.check(Engine(load_index(built_index, fake_embedder)))
    assert (report.checked, report.new_matches) == (1, 0)
    assert _announced(later, alert.id) == [] and later.alert(alert.id).threshold == 0.45
    later.close()


def test_a_rebuild_with_another_encoder_announces_only_changed_papers(
    app_settings, corpus_dir, built_index, fake_embedder
):
    engine = Engine(load_index(built_index, fake_embedder))
    alerts = AlertService(app_settings)
    alert = alerts.create("Business Case", {}, None, "http://127.0.0.1:9/", 0.5, lambda: engine)

    other = BroaderFakeEmbedder()
    build_index(corpus_dir, built_index, other, progress=False, force=True)  # a new encoder, the same papers
    report = alerts.check(Engine(load_index(built_index, other)))
    assert report.baseline_matches > 0  # passages that match only now: recorded, but not news
    assert report.new_matches == 0 and _announced(alerts, alert.id) == []
    assert alerts.store.pending_deliveries() == []  # and no webhook queued for them

    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text() + "\n\nThe Business Case was noted by the Panel.\n")
    build_index(corpus_dir, built_index, other, progress=False)
    report = alerts.check(Engine(load_index(built_index, other)))
    assert report.new_matches == 1 and _announced(alerts, alert.id) == ["The Business Case was noted by the Panel."]
    assert [d.match.text for d in alerts.store.pending_deliveries()] == ["The Business Case was noted by the Panel."]
    alerts.close()
