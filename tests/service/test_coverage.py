"""The coverage check: a question naming a council service that no indexed paper mentions is
refused with a message naming it; a subject the papers do mention, or a question that names no
service at all, is left to the scorer. Table-driven over the subjects file, then end to end over
HTTP on the fixture corpus, then how `minutes-qa train` counts such refusals when it chooses the cut."""

import json
from types import SimpleNamespace

import pytest

from indexer.lexical import tokenize
from service.coverage import CoverageCheck, refusal, subjects

# the search terms of papers about children's social care that also mention a library and buses
VOCABULARY = set(tokenize("council spend children social care school library cost bus services"))


@pytest.mark.parametrize(
    ("question", "absent"),
    [
        ("How many potholes were reported in 2017?", ["potholes"]),
        ("How much did the council spend on road repairs last year?", ["road repairs"]),
        ("When is the next bin collection in Redditch?", ["bin collection"]),
        ("What is the council tax band D charge for 2018/19?", ["council tax band D"]),
        ("Who won the mayoral election?", ["election", "mayoral"]),
        ("Will the swimming pool and the library stay open?", ["swimming pool"]),  # "library" is used
        # a follow-up is checked with the subject it carries (the engine passes the standalone text)
        ("And how much did that cost? (following: How many potholes were filled?)", ["potholes"]),
        ("What was agreed about the county's bus services?", []),  # both words are in the papers
        ("Is the new company going to cost us anything to set up?", []),  # names no service
        ("What is the recipe for Worcestershire sauce?", []),  # off-topic, but not a service: the scorer's
    ],
)
def test_a_named_service_is_absent_only_when_the_papers_never_use_its_words(question, absent):
    assert CoverageCheck(VOCABULARY).absent(question) == absent


def test_no_subject_matches_everyday_words_about_any_service():
    """The patterns name services, not everyday words: a question about staff, money, timing or a
    decision must never be refused because a pattern is too broad ("tips", "pay")."""
    names = [s.name for s in subjects()]
    assert len(names) == len(set(names)) and len(names) >= 40
    everyday = [
        "Any tips on who to ask about the new company?",
        "Will staff pay change when they move over?",
        "Who is going to be in charge, and when does it start?",
        "Did anyone on the panel vote against it, and why?",
        "How much will it cost to set up, and who pays the bill?",
        "What happens to children in care if the partner pulls out?",
        # figures of speech that name a service's word
        "What are the key takeaways for Members?",
        "Will the savings be recycled into front-line services?",
        "Can the front door cope with a flood of referrals?",
        "Will the company weather the cuts?",
        "Is this rubbish?",
        "Did the staff ballot back it, and which pay band are social workers on?",
        "Is there a decision tree for referrals?",
    ]
    assert all(CoverageCheck(set()).absent(q) == [] for q in everyday)


def test_the_refusal_names_what_is_missing():
    assert refusal(["potholes"]) == "The papers don't cover this: no indexed paper mentions potholes."
    assert refusal(["elections", "mayors"]).endswith("mentions elections or mayors.")


def test_every_refusal_opens_the_way_the_chat_page_expects():
    """The page shows a refusal's reason after the shared opening; if the opening changed in one
    place only, the page would show the whole sentence as the reason, or none."""
    from pathlib import Path

    from service.coverage import NOT_COVERED
    from service.engine import NOT_FOUND

    page = (Path(__file__).resolve().parents[2] / "service" / "static" / "app.js").read_text(encoding="utf-8")
    assert f'"{NOT_COVERED}."' in page and f"/^{NOT_COVERED}:\\s*/" in page
    assert NOT_FOUND.startswith(NOT_COVERED + ": ") and refusal(["x"]).startswith(NOT_COVERED + ": ")
    compose = (Path(__file__).resolve().parents[2] / "service" / "compose.py").read_text(encoding="utf-8")
    assert "cover this" not in compose  # it builds its refusal from NOT_COVERED too


def test_an_absent_service_is_refused_over_http_whatever_the_cut(client):
    client.app.state.holder.engine.composer.abstain_below = 0.0  # the scorer would answer anything
    body = client.post("/ask", json={"question": "How many potholes were reported?", "explain": True}).json()
    assert body["abstained"] and not body["citations"]
    assert body["answer"] == "The papers don't cover this: no indexed paper mentions potholes."
    assert "potholes" in body["explain"]["decision"]["reason"]
    # the same question about a subject the fixture papers do use is answered
    body = client.post("/ask", json={"question": "How much money was required to set up the Company?"}).json()
    assert not body["abstained"] and body["citations"]


def test_the_cut_counts_the_refusals_made_whatever_the_cut(tmp_path):
    import numpy as np

    from eval.cut import refusals_allow, refused_whatever_the_cut
    from service.scoring import feature_names

    class Analyzer:
        def run(self, question, history):
            asks = question.startswith("How much")
            return SimpleNamespace(text=question, answer_type="amount" if asks else "description", asks_value=asks)

    names = feature_names()
    engine = SimpleNamespace(
        coverage=CoverageCheck(VOCABULARY),
        analyzer=Analyzer(),
        scorer=SimpleNamespace(model=SimpleNamespace(names=names)),
    )
    x = np.zeros((2, len(feature_names())))
    x[1, feature_names().index("type_match")] = 1.0  # the second candidate holds a sum

    def data(question):
        return SimpleNamespace(item=SimpleNamespace(question=question, history=[]), x=x)

    rows = [data("How many potholes?"), data("How much did it cost?"), data("How much did it cost?"), data("Why?")]
    # potholes: absent subject; then a sum asked, top candidate without one / with one; a reason asked
    assert refused_whatever_the_cut(engine, rows, [1, 0, 1, 0], [0.8] * 4) == [0.0, 0.0, 0.8, 0.8]

    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"test": {"abstention_recall": 50.0}}))

    def item(id_, answerable):
        return SimpleNamespace(id=id_, answerable=answerable)

    # round 1's unanswerable questions (ids "na-…") do not count: the gate judges the others
    items = [item("x-1", False), item("x-2", False), item("na-01", False), item("x-3", True)]
    allowed = refusals_allow([0.1, 0.4, 0.05, 0.9], items, path)
    assert not allowed(0.1) and allowed(0.2) and allowed(0.5)
    path.write_text(json.dumps({"test": {}}))
    assert refusals_allow([0.1, 0.4, 0.05, 0.9], items, path)(0.0)  # no threshold: every cut


def test_a_value_asked_for_and_missing_from_the_best_evidence_is_refused(client):
    """Asked "how much", the best candidate names no sum: the papers do not give it. Asked a
    description, any sentence may answer."""
    from service.compose import value_missing
    from service.query import QueryAnalyzer

    analyzer = QueryAnalyzer([])
    with_sum, without = {"type_match": 1.0}, {"type_match": 0.0}
    how_much = analyzer.run("How much will the company cost to set up?")
    assert value_missing(how_much, without) and not value_missing(how_much, with_sum)
    for q in ("Why is the company being set up?", "What happens to staff pay?", "What will the budget be spent on?"):
        assert not value_missing(analyzer.run(q), without), q  # a money word on the way is not a value asked
    assert value_missing(analyzer.run("And how much?", ["Who chaired the panel?"]), without)
    grade = analyzer.run("What grade did Ofsted give the county's children's services?")
    assert value_missing(grade, without) and not value_missing(grade, with_sum)

    engine = client.app.state.holder.engine
    engine.composer.abstain_below = 0.0
    body = client.post("/ask", json={"question": "How much money was required to set up the Company?"}).json()
    assert not body["abstained"] and "£" in body["answer"]  # the fixture papers give this sum
    # the same answer path, the best candidate's value taken away: refused, saying what is missing
    original = engine.scorer.run

    def without_values(query, qvec, cands):
        scored = original(query, qvec, cands)
        for c in scored:
            c.features["type_match"] = 0.0
        return scored

    engine.scorer.run = without_values
    try:
        body = client.post("/ask", json={"question": "How much money was required to set up the Company?"}).json()
    finally:
        engine.scorer.run = original
    assert (
        body["abstained"]
        and body["answer"] == "The papers don't cover this: the closest passages give no sum of money."
    )


def test_the_cut_falls_back_to_the_lowest_that_the_hard_constraints_allow():
    from eval.cut import choose_cut, settle_cut

    probs, right, answerable, weights = [0.12345, 0.3, 0.6], [False, True, True], [False, True, True], [1.0] * 3
    must = lambda cut: cut >= 0.12  # noqa: E731
    # every cut the hard constraints allow is also sure to keep the estimated one: the best of them
    assert settle_cut(probs, right, answerable, weights, must, lambda cut: True) == (
        choose_cut(probs, right, answerable, weights, must),
        True,
    )
    # none is: the lowest the hard constraints allow, rounded up to four places (refuses no less)
    assert settle_cut(probs, right, answerable, weights, must, lambda cut: False) == (0.1235, False)


def test_every_value_type_is_detected_named_and_spanned():
    """A value type the question analyser can ask for (service.query.VALUE_TYPES) is one the
    scorer detects, the refusal names and the short answer can take."""
    from service.compose import _SPAN, VALUE_NAMES
    from service.query import VALUE_TYPES
    from service.scoring import ANSWER_TYPES, VALUE_PATTERNS

    for kind in VALUE_TYPES:
        assert kind in ANSWER_TYPES and kind in VALUE_PATTERNS and kind in VALUE_NAMES, kind
    grade = "Ofsted judged services for children in need of help and protection to be inadequate."
    assert VALUE_PATTERNS["grade"].search(grade) and _SPAN["grade"].search(grade).group(0) == "inadequate"
    assert not VALUE_PATTERNS["grade"].search("Ofsted published its inspection report on 24 January 2017.")
