"""The gold set is sound, and the regression gate: accuracy on the real index may not drop below
eval/thresholds.json (raise the thresholds as the system improves; never lower them)."""
import json
from pathlib import Path

import pytest

from eval.gold import load_gold, validate
from eval.runner import THRESHOLDS_PATH, Backend, check_thresholds, metrics, run

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def texts(real_engine):
    return {d: doc.text for d, doc in real_engine.index.documents.items()}


def test_gold_set_shape():
    items = load_gold()
    assert len(items) >= 100
    assert sum(not i.answerable for i in items) >= 15
    kinds = {i.kind for i in items}
    assert {"number", "date", "person", "reason", "table", "meeting", "cross_paper", "follow_up", "unanswerable"} <= kinds
    assert len({i.gold_document for i in items if i.answerable}) == 5  # every paper is covered


def test_gold_set_validates_against_the_corpus(real_engine, texts):
    labelled = {}
    for c in real_engine.index.chunks:
        if c.kind == "table_row":
            labelled[c.doc_id] = labelled.get(c.doc_id, "") + c.search_text + "\n"
    assert validate(load_gold(), texts, labelled) == []


def test_validator_catches_a_broken_item(texts):
    items = load_gold()[:1]
    items[0].passages = ["this snippet is not in any paper"]
    items[0].answer_patterns = ["zzz-never-matches"]
    problems = validate(items, texts)
    assert any("not found verbatim" in p for p in problems) and any("matches nothing" in p for p in problems)


def test_regression_gate(real_engine, texts):
    m = metrics(run(Backend(engine=real_engine, texts=texts), load_gold()))
    failures = check_thresholds(m)
    assert not failures, f"accuracy regressed: {failures}; metrics: { {k: m[k] for k in json.loads(THRESHOLDS_PATH.read_text())} }"


def test_gate_fails_when_a_threshold_is_not_met(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"fact_accuracy": 99.9}))
    assert check_thresholds({"fact_accuracy": 50.0}, path) == ["fact_accuracy 50.0 < threshold 99.9"]


def test_cli_eval_json(real_index_dir, monkeypatch, capsys, tmp_path):
    from service import cli

    monkeypatch.setenv("MINUTES_QA_INDEX_DIR", str(real_index_dir))
    with pytest.raises(SystemExit) as exc:
        cli.main(["eval", "--json", "--report", str(tmp_path / "r.md")])
    assert exc.value.code == 0
    m = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert m["questions"] >= 100 and "by_kind" in m
    assert (tmp_path / "r.md").read_text().startswith("# Evaluation report")
