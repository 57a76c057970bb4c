"""The passage re-ranker on the fixture corpus with the fake embedder: without a model fusion's
order stands; a fitted model re-orders by what it learnt; the model file round-trips and refuses
other features; training fits on train questions only and cross-fits by fold."""

import numpy as np
import pytest

from eval.gold import GoldItem
from service.rerank import FEATURES, POOL, RerankerModel
from service.retrieval import Filters

QUESTIONS = [
    ("How much money was required to set up the Company?", "£4.6 million required to establish"),
    ("When did the meeting end?", "The meeting ended at 12.53 pm"),
    ("What percentage of total possible did the Wholly Owned Council Company get?", "Wholly Owned Council Company"),
    ("Who chaired the panel?", "Mrs F M Oborski (Chairman)"),
]


@pytest.fixture
def index(built_index, fake_embedder):
    from service.index import load_index

    return load_index(built_index, fake_embedder)


def _engine(index, **kw):
    from service.engine import Engine, PipelineOptions
    from service.scoring import default_model

    options = PipelineOptions(rerank=kw.pop("rerank", True))
    return Engine(index, model=default_model(), options=options, query_cache_size=0, **kw)


def _items(index):
    texts = {d: doc.text for d, doc in index.documents.items()}
    items = []
    for n, (question, passage) in enumerate(QUESTIONS):
        assert any(passage in t for t in texts.values()), passage  # the fixture holds each gold passage
        items.append(GoldItem(id=f"r-{n}", kind="number", question=question, passages=[passage]))
    return items, texts


def _model_preferring(feature: str, groups: list[np.ndarray] | None = None) -> RerankerModel:
    """A model fitted on groups (synthetic, or real feature rows) where the passage with the highest
    `feature` is the right one, and nothing else tells."""
    import lightgbm

    rng = np.random.default_rng(0)
    groups = groups or [rng.random((10, len(FEATURES))) for _ in range(40)]
    j = FEATURES.index(feature)
    ys = [(x[:, j] == x[:, j].max()).astype(int) for x in groups]
    ranker = lightgbm.LGBMRanker(objective="lambdarank", n_estimators=30, min_child_samples=1, verbose=-1)
    ranker.fit(np.vstack(groups), np.concatenate(ys), group=[len(x) for x in groups])
    return RerankerModel(list(FEATURES), ranker.booster_.model_to_string())


def test_without_a_model_fusion_order_stands(index):
    engine = _engine(index, rerank=False)
    query = engine.analyzer.run(QUESTIONS[0][0])
    qvec = engine.embed_query(query.text)
    fused = engine.fused(query, qvec, Filters(), engine.options.passages)
    assert engine.reranker.pool == 0
    assert [h.chunk for h in engine.retrieve(query, qvec, Filters())][: len(fused)] == [h.chunk for h in fused]


def test_a_fitted_model_reorders_by_what_it_learnt(index):
    plain = _engine(index, rerank=False)

    def pool(question):
        query = plain.analyzer.run(question)
        qvec = plain.embed_query(query.text)
        hits = plain.fused(query, qvec, Filters(), POOL)
        return query, qvec, hits, plain.reranker.features(query, qvec, hits, plain.scorer.query_weights(query))

    # Taught that fusion's LAST passage is the right one: the opposite of fusion's order.
    model = _model_preferring("fused_rank", [pool(q)[3] for q, _ in QUESTIONS])
    engine = _engine(index, reranker=model)
    query, qvec, hits, x = pool("What did the panel say about VAT?")
    assert x.shape == (len(hits), len(FEATURES)) and np.isfinite(x).all() and len(hits) > 2
    last = hits[-1].chunk
    reranked = engine.reranker.run(query, qvec, list(hits), engine.scorer.query_weights(query))
    assert reranked[0].chunk == last
    assert [h.rank for h in reranked] == list(range(len(reranked)))
    assert sorted(h.chunk for h in reranked) == sorted(h.chunk for h in hits)  # re-ordered, none lost
    # The engine keeps the first `passages` of the re-ranked pool.
    assert engine.retrieve(query, qvec, Filters())[0].chunk == last


def test_features_mark_the_paper_a_question_names(index):
    engine = _engine(index, rerank=False)
    query = engine.analyzer.run("What did the Cabinet decide about the company?")
    qvec = engine.embed_query(query.text)
    hits = engine.fused(query, qvec, Filters(), POOL)
    x = engine.reranker.features(query, qvec, hits, engine.scorer.query_weights(query))
    named = set(query.constraints.named_documents(d.meta for d in index.documents.values()))
    assert named, "the question names the Cabinet"
    in_named = x[:, FEATURES.index("in_named_paper")]
    assert [bool(v) for v in in_named] == [index.chunks[h.chunk].doc_id in named for h in hits]
    assert in_named.any() and not in_named.all()


def test_model_file_round_trip_and_refusals(tmp_path):
    model = _model_preferring("dense")
    path = tmp_path / "reranker.json"
    model.save(path)
    again = RerankerModel.load(path)
    x = np.random.default_rng(1).random((5, len(FEATURES)))
    assert again is not None and np.allclose(again.scores(x), model.scores(x))
    assert RerankerModel.load(tmp_path / "missing.json") is None
    with pytest.raises(ValueError, match="other features"):
        RerankerModel(["dense"], model.booster)


def test_training_labels_gold_passages_and_cross_fits(index):
    from eval.rerank_fit import cross_fitted_rerankers, rerank_rows

    items, texts = _items(index)
    engine = _engine(index, rerank=False)
    rows = [rerank_rows(engine, it, texts) for it in items]
    for it, r in zip(items, rows, strict=True):
        gold = [index.chunks[h] for h in range(len(index.chunks)) if it.passages[0] in index.chunks[h].search_text]
        assert r.x.shape[1] == len(FEATURES) and len(r.y) == len(r.x) <= POOL
        assert r.y.sum() >= 1 or not gold  # a retrieved gold passage is labelled
    folds = [0, 0, 1, 1]
    per_fold, final = cross_fitted_rerankers(items, folds, [engine, engine], texts)
    usable = [r.y.any() for r in rows]
    assert final.trained_on["questions"] == sum(usable)
    for f, m in enumerate(per_fold):  # each fold's model never saw that fold's questions
        assert m.trained_on["questions"] == sum(u for u, g in zip(usable, folds, strict=True) if g != f)
