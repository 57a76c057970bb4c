"""The gold set is sound and split, and the regression gate: accuracy on the real index may not drop
below eval/thresholds.json — on the frozen test split (the headline), and on the round-1 questions
(the floor the first release set). Raise thresholds as the system improves; never lower them."""

import json
from collections import Counter

import pytest

from eval.gold import TAGS, load_gold, validate
from eval.runner import THRESHOLDS_PATH, Backend, check_thresholds, metrics, run
from eval.split import ROUND_ONE_PREFIXES, load_split, side

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def texts(real_engine):
    return {d: doc.text for d, doc in real_engine.index.documents.items()}


def test_gold_set_shape():
    items = load_gold()
    assert len(items) >= 300
    assert sum(not i.answerable for i in items) >= 40
    tags = Counter(t for i in items for t in i.tags)
    assert all(tags[t] >= 15 for t in TAGS), tags  # every failure class is measured
    assert sum(i.style == "member" for i in items) >= len(items) / 2  # half phrased as Members talk
    assert {"yes_no", "list"} <= {i.kind for i in items}
    assert len({i.gold_document for i in items if i.answerable}) == 5  # every paper is covered


def test_split_is_complete_and_test_is_independent():
    items, split = load_gold(), load_split()
    assert {i.id for i in items} == set(split)
    test = side(items, split, "test")
    # The test split is frozen at the 186 questions the gate's floors were set on (eval/split.py):
    # questions added since went to train, so its share fell from 40% (473 questions) to 29% (643).
    # It must not shrink further without new test-only questions being written.
    assert len(test) >= 186 and len(test) / len(items) >= 0.25
    assert not any(i.id.startswith(ROUND_ONE_PREFIXES) for i in test)  # never tuned against


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


@pytest.mark.parametrize("population", ["test", "round1"])
def test_regression_gate(real_engine, texts, population):
    items, split = load_gold(), load_split()
    chosen = (
        side(items, split, "test")
        if population == "test"
        else [i for i in items if i.id.startswith(ROUND_ONE_PREFIXES)]
    )
    m = metrics(run(Backend(engine=real_engine, texts=texts), chosen))
    failures = check_thresholds(m, population=population)
    limits = json.loads(THRESHOLDS_PATH.read_text())[population]
    assert not failures, (
        f"{population}: accuracy regressed: {failures}; "
        f"metrics: { {k.removeprefix('max_'): m[k.removeprefix('max_')] for k in limits} }"
    )


def test_gate_fails_when_a_threshold_is_not_met(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"test": {"fact_accuracy": 99.9, "max_false_abstention_rate": 3.0}}))
    assert check_thresholds({"fact_accuracy": 50.0, "false_abstention_rate": 9.0}, path) == [
        "fact_accuracy 50.0 < threshold 99.9",
        "false_abstention_rate 9.0 > limit 3.0",
    ]


def test_cli_eval_json(real_index_dir, monkeypatch, capsys, tmp_path):
    from eval import cli  # the minutes-qa console script: the service's commands and the evaluation's

    monkeypatch.setenv("MINUTES_QA_INDEX_DIR", str(real_index_dir))
    with pytest.raises(SystemExit) as exc:
        cli.main(["eval", "--json", "--report", str(tmp_path / "r.md")])
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    m = out["test"]  # the report adds train (for the gap), so both come back
    assert m["questions"] >= 120 and "by_tag" in m and "train" in out
    assert (tmp_path / "r.md").read_text().startswith("# Evaluation report")
