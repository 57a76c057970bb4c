"""Candidates → features → a fitted model's calibrated probability that the candidate answers.

`Scorer.run(query, qvec, candidates)` fills each candidate's `features` and `score` and returns
them best first. The features are what an officer would look at — meaning (dense similarity of
the sentence and of its passage), the question's words it contains (IDF-weighted), whether it
holds the kind of thing asked (a date, an amount, a name, a reason, a list), whether it is a
table cell the question addresses by row and column, a meeting fact of the asked role, whether
it comes from the meeting/body/paper the question names, retrieval rank — and shape penalties
(a bare label, a lead-in without its items, a heading). The weights are *not* set by hand: a
model fitted on the gold set's training split by `eval/train.py` (a logistic regression or a
LightGBM ranker, whichever cross-validates better; `scorer.json` says which) is written to
`service/data/scorer.json`, with a Platt calibration and the abstention cut chosen by
cross-validation on the same split.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.lexical import tokenize
from service.candidates import Candidate
from service.continuation import FEATURES as CONTINUATION_FEATURES
from service.continuation import ContinuationModel, continuation_row
from service.index import LoadedIndex
from service.query import AnalyzedQuery

MODEL_FILE = Path(__file__).with_name("data") / "scorer.json"
CARRIED_WEIGHT = 0.5
KINDS = ("list", "field", "cell", "column_fact", "fact")
ANSWER_TYPES = (
    "person",
    "date",
    "amount",
    "count",
    "percentage",
    "score",
    "grade",
    "place",
    "reason",
    "list",
    "yes_no",
    "description",
)

VALUE_PATTERNS = {
    "amount": re.compile(r"£\s?\d|\d\s?(m|k|bn|million|billion|thousand)\b|\bcosts?\b|\bfund", re.I),
    "percentage": re.compile(r"\d\s?%|\bper ?cent\b|\b(a|one) (third|quarter|half)\b", re.I),
    "count": re.compile(
        r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"dozen|hundred|thousand)\b",
        re.I,
    ),
    "score": re.compile(r"\b\d[\d,.]*%?\b"),
    "grade": re.compile(r"\b(outstanding|good|requires? improvement|inadequate|satisfactory|special measures)\b", re.I),
    "date": re.compile(
        r"\b(January|February|March|April|May|June|July|August|September|October|November|"
        r"December)\b|\b(19|20)\d\d\b|\b\d{1,2}(st|nd|rd|th)\b|\b\d{1,2}[.:]\d{2}\s?[ap]\.?m\b|"
        r"\b\d+\s?(weeks?|months?|years?|days?)\b",
        re.I,
    ),
    "person": re.compile(
        r"\b(Mr|Mrs|Ms|Miss|Dr|Sir|Councillor|Cllr)\.? [A-Z]|\b[A-Z][a-z]+ [A-Z][a-z]+\b|"
        r"\b(Director|Officer|Commissioner|Chairman|Chair|Leader|Cabinet Member|Executive|Manager|"
        r"Advisor|Adviser|Council|Ventures|Partnership|Trust|DfE|Ofsted)\b"
    ),
    "place": re.compile(r"\b(Hall|House|Room|Chamber|Centre|Offices?|Street|Road)\b|\b[A-Z][a-z]+, [A-Z][a-z]+"),
    "reason": re.compile(
        r"\b(because|due to|as a result|in order to|so that|so as to|reasons?|aim|driver|since|given "
        r"(that|the)|to ensure|would (allow|enable|mean)|as it|as they|owing to|therefore|thus|"
        r"meant that|which (would|will) (allow|enable|mean)|benefit|risk|concern)\b",
        re.I,
    ),
    "yes_no": re.compile(r"\b(would|will|could|can|should|must|did|was|were|is|are|had|has)( not|n't)?\b|\bno\b", re.I),
}
# A sum of money as a figure ("£4.6 million", "c£2m", "£250k", "5,000 pounds", "30p"): what a question
# asking directly "how much …?" wants. The amount pattern above also accepts money words ("costs",
# "funding"), which answer "what about the cost?" but not "how much?".
_SUM = re.compile(r"£\s?\d|\d\s?(m|k|bn|million|billion|thousand)\b|\d[\d,.]*\s?(pounds?|pence|p)\b|\bpounds? \d", re.I)
_NEGATION = re.compile(r"\b(no|not|none|never|nor|n't|cannot|neither)\b", re.I)
_VERB = re.compile(
    r"\b(is|are|was|were|be|been|has|have|had|would|will|could|should|may|can|did|does|"
    r"[a-z]{3,}ed|[a-z]{3,}s)\b",
    re.I,
)


def feature_names() -> list[str]:
    return (
        [
            "dense",
            "passage_dense",
            "dense_gap",
            "lexical",
            "lexical_own",
            "lexical_gap",
            "rank_prior",
            "rrf",
            "type_match",
            "role_match",
            "list_match",
            "cell_address",
            "extreme_match",
            "meta_match",
            "label_like",
            "lead_in_only",
            "heading_like",
            "length",
            "reason_asked_cue",
            "prev_lexical",
            "next_lexical",
            "glossary_match",
            "negation",
            "roles_asked",
            "names_meeting",
        ]
        + [f"is_{k}" for k in KINDS]
        + [f"asks_{t}" for t in ANSWER_TYPES]
    )


def import_lightgbm_without_sklearn() -> None:
    """Import lightgbm with scikit-learn hidden, for the `serve` process only.

    lightgbm's compatibility layer imports scikit-learn whenever it can (~2 s of a 7 s start-up
    here) although serving only calls `Booster.predict`. Training needs lightgbm's scikit-learn
    API (`LGBMRanker`), so this is called only by `minutes-qa serve`, never in a process that may
    train, and does nothing if either package is already imported."""
    import sys

    if "lightgbm" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` now raises ImportError
    try:
        import lightgbm  # noqa: F401
    finally:
        del sys.modules["sklearn"]


@dataclass
class ScorerModel:
    """A fitted ranking model (logistic regression over standardised features, or a LightGBM
    LambdaRank booster — whichever cross-validated better on train), Platt calibration of its raw
    score, and the abstention cut."""

    names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    platt_a: float = 1.0
    platt_b: float = 0.0
    # Calibration also weighs how much of the question the papers' vocabulary covers at all: a
    # question about bus services, in papers that never mention buses, is unanswerable however well
    # its best sentence ranks among the rest.
    platt_unknown: float = 0.0
    abstain_below: float = 0.5
    # Log-odds gap under which the composer quotes the runner-up beside the best candidate (0: never).
    second_quote_within: float = 0.0
    # The fitted decision to quote the best sentence with the next one (service/continuation.py).
    continuation: dict | None = None
    trained_on: dict = field(default_factory=dict)
    kind: str = "logistic"  # "logistic" | "lightgbm"
    booster: str | None = None  # LightGBM model text, for kind "lightgbm"

    def __post_init__(self) -> None:
        self._booster = None
        if self.kind == "lightgbm":
            import lightgbm

            self._booster = lightgbm.Booster(model_str=self.booster)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ScorerModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**data)

    def save(self, path: Path = MODEL_FILE) -> None:
        data = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def raw(self, x: np.ndarray) -> np.ndarray:
        if self._booster is not None:
            return np.asarray(self._booster.predict(x, num_threads=1), dtype=np.float64)
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def calibrated(self, raw: np.ndarray, unknown_share: float = 0.0) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.platt_a * raw + self.platt_unknown * unknown_share + self.platt_b)))


def default_model() -> ScorerModel:
    """Used only when no fitted model exists (a fresh feature set before `eval/train.py` ran):
    meaning and word coverage, nothing tuned."""
    names = feature_names()
    coef = [1.0 if n in ("dense", "lexical", "type_match", "role_match", "cell_address") else 0.0 for n in names]
    return ScorerModel(names, [0.0] * len(names), [1.0] * len(names), coef, -1.0, 4.0, -2.0, 0.5)


class Scorer:
    def __init__(self, index: LoadedIndex, model: ScorerModel | None = None) -> None:
        self.index = index
        if model is None:
            try:
                model = ScorerModel.load()
            except (OSError, ValueError, TypeError):
                model = default_model()
        if model.names != feature_names():
            raise ValueError(f"{MODEL_FILE} was fitted on other features; run `make train` to refit it")
        self.model = model
        self.continuation = ContinuationModel(**model.continuation) if model.continuation else None
        self.idf, self.max_idf = _idf(index)
        self._terms: dict[tuple, frozenset[str]] = {}
        self._shapes: dict[tuple, _Shape] = {}

    # -- features ---------------------------------------------------------------------
    def query_weights(self, query: AnalyzedQuery) -> dict[str, float]:
        """The question's terms and their IDF weights (carried follow-up terms count half)."""
        weights: dict[str, float] = {}
        for t in query.carried_terms:
            weights[t] = max(weights.get(t, 0.0), CARRIED_WEIGHT * self.idf.get(t, self.max_idf))
        for t in query.own_terms:
            weights[t] = self.idf.get(t, self.max_idf)
        return weights

    def _context_terms(self, c: Candidate) -> frozenset[str]:
        key = ("ctx", c.chunk, c.unit)
        terms = self._terms.get(key)
        if terms is None:
            chunk = self.index.chunks[c.chunk]
            meta = self.index.documents[c.doc_id].meta
            unit = self.index.units[c.unit] if c.unit is not None else None
            parts = [chunk.section, meta.title, meta.body, meta.council, chunk.caption]
            if unit is not None:
                parts += [unit.label, unit.header, unit.role and unit.role.replace("_", " ")]
            if chunk.kind != "text":
                parts.append(chunk.search_text)
            terms = frozenset(tokenize(" ".join(p for p in parts if p)))
            self._terms[key] = terms
        return terms

    def _shape(self, c: Candidate) -> _Shape:
        """What a candidate is, independent of the question (cached: the index never changes)."""
        key = (c.kind, c.doc_id, c.start, c.end, c.value_start, c.value_end, c.chunk, c.unit)
        shape = self._shapes.get(key)
        if shape is None:
            doc_text = self.index.documents[c.doc_id].text
            text = doc_text[c.start : c.end]
            value = doc_text[c.value_start : c.value_end]
            typed = value if c.kind != "sentence" else text
            words = text.split()
            heading = self.index.chunks[c.chunk].section or ""
            own = frozenset(tokenize(text))
            unit = self.index.units[c.unit] if c.unit is not None else None
            shape = _Shape(
                own_terms=own,
                terms=own | self._context_terms(c),
                has={k: bool(rx.search(typed)) for k, rx in VALUE_PATTERNS.items()} | {"sum": bool(_SUM.search(typed))},
                reason_cue=bool(VALUE_PATTERNS["reason"].search(text)),
                label_like=len(words) <= 6 and not _VERB.search(text) and c.kind == "sentence",
                lead_in_only=c.kind == "sentence" and text.rstrip().endswith(":"),
                heading_like=c.kind == "sentence" and " ".join(words) in heading,
                length=math.log1p(len(text)) / 8.0,
                negation=bool(_NEGATION.search(text)),
                row_terms=frozenset(tokenize(unit.label or "")) if unit else frozenset(),
                col_terms=frozenset(tokenize(unit.header or "")) if unit else frozenset(),
            )
            self._shapes[key] = shape
        return shape

    def features(self, query: AnalyzedQuery, qvec: np.ndarray, cands: list[Candidate]) -> np.ndarray:
        weights = self.query_weights(query)
        total = sum(weights.values()) or 1.0
        own = {t: self.idf.get(t, self.max_idf) for t in query.own_terms}
        own_total = sum(own.values()) or 1.0
        max_rrf = max((c.rrf for c in cands), default=1.0) or 1.0
        gloss = {t: self.idf.get(t, self.max_idf) for t in tokenize(query.expansion)}
        gloss_total = sum(gloss.values()) or 1.0
        atype = query.answer_type
        # Meaning, in one matrix product: the similarity of every sentence the candidates hold.
        needed = sorted({s for c in cands for s in c.sentences})
        sims = dict(zip(needed, (self.index.sentence_vectors[needed] @ qvec).tolist(), strict=True)) if needed else {}
        rows = []
        for c in cands:
            sh = self._shape(c)
            unit = self.index.units[c.unit] if c.unit is not None else None
            dense = max((sims[s] for s in c.sentences), default=0.0)
            type_match = float(sh.has.get(atype, False))
            if atype == "amount" and query.asks_value:  # "how much …?" is answered by a sum, not by "costs"
                type_match = float(sh.has["sum"])
            if atype == "list":
                type_match = float(c.kind == "list")
            f = {
                "dense": dense,
                "passage_dense": float(self.index.chunk_vectors[c.chunk] @ qvec),
                "lexical": sum(w for t, w in weights.items() if t in sh.terms) / total,
                "lexical_own": sum(w for t, w in own.items() if t in sh.own_terms) / own_total,
                "rank_prior": 1.0 / (1 + c.rank),
                "rrf": c.rrf / max_rrf,
                "type_match": type_match,
                "role_match": float(unit is not None and bool(unit.role) and unit.role in query.roles),
                "list_match": float(c.kind == "list" and (atype == "list" or "recommendations" in query.roles)),
                "cell_address": self._cell_address(c, sh, weights, total),
                "extreme_match": self._extreme_match(query, c, unit, sh, weights, total),
                "meta_match": query.constraints.matches(
                    self.index.documents[c.doc_id].meta, self.index.chunks[c.chunk].item
                ),
                "label_like": float(sh.label_like),
                "lead_in_only": float(sh.lead_in_only),
                "heading_like": float(sh.heading_like),
                "length": sh.length,
                "reason_asked_cue": float(atype == "reason" and sh.reason_cue),
            }
            prev_terms, next_terms = self._neighbour_terms(c)
            f["prev_lexical"] = sum(w for t, w in own.items() if t in prev_terms) / own_total
            f["next_lexical"] = sum(w for t, w in own.items() if t in next_terms) / own_total
            f["negation"] = float(sh.negation)
            f["glossary_match"] = sum(w for t, w in gloss.items() if t in sh.terms) / gloss_total
            f["roles_asked"] = float(bool(query.roles))
            f["names_meeting"] = float(not query.constraints.is_empty())
            for k in KINDS:
                f[f"is_{k}"] = float(c.kind == k)
            for t in ANSWER_TYPES:
                f[f"asks_{t}"] = float(atype == t)
            c.features = f
            rows.append(f)
        if rows:  # relative features: how a candidate compares with the best one for this question
            top_dense = max(r["dense"] for r in rows)
            top_lex = max(r["lexical"] for r in rows)
            for r in rows:
                r["dense_gap"] = r["dense"] - top_dense
                r["lexical_gap"] = r["lexical"] - top_lex
        names = self.model.names
        return np.array([[r[n] for n in names] for r in rows], dtype=np.float64).reshape(len(rows), len(names))

    def unknown_share(self, query: AnalyzedQuery) -> float:
        """The share of the question's own words (IDF-weighted as if unseen) that no passage contains."""
        terms = [t for t in query.own_terms if not t[0].isdigit()]
        if not terms:
            return 0.0
        return sum(1 for t in terms if t not in self.idf) / len(terms)

    def _neighbour_terms(self, c: Candidate) -> tuple[frozenset[str], frozenset[str]]:
        """Terms of the sentences just before and after a sentence in its passage: an answer often
        follows the sentence that names the topic ("… a form of privatisation. This was not the case")."""
        if c.kind != "sentence" or c.sentence is None:
            return frozenset(), frozenset()
        rows = self.index.chunk_sentences[c.chunk]
        out = []
        for row in (c.sentence - 1, c.sentence + 1):
            if row in rows:
                terms = self._terms.get(("s", row))
                if terms is None:
                    _, s, e = (int(x) for x in self.index.sentence_spans[row])
                    terms = frozenset(tokenize(self.index.documents[c.doc_id].text[s:e]))
                    self._terms[("s", row)] = terms
                out.append(terms)
            else:
                out.append(frozenset())
        return out[0], out[1]

    def _cell_address(self, c: Candidate, sh: _Shape, weights: dict[str, float], total: float) -> float:
        """How much of the question the cell's row label and column header cover (a question that
        names a row and a column, either way round, is asking for that cell)."""
        if c.kind not in ("cell", "column_fact"):
            return 0.0
        row_hit = sum(w for t, w in weights.items() if t in sh.row_terms)
        col_hit = sum(w for t, w in weights.items() if t in sh.col_terms)
        if not row_hit or (not col_hit and c.kind == "cell"):
            return 0.0
        return (row_hit + col_hit) / total

    def _extreme_match(
        self, query: AnalyzedQuery, c: Candidate, unit, sh: _Shape, weights: dict[str, float], total: float
    ) -> float:
        if (
            c.kind != "column_fact"
            or unit is None
            or not query.extreme
            or not (unit.role or "").endswith(query.extreme)
        ):
            return 0.0
        # A row extreme ("highest on Tax & VAT") is addressed by its row label; a column extreme
        # ("highest Overall Score") by its column header.
        terms = sh.row_terms if unit.role.startswith("row_") else sh.col_terms
        return sum(w for t, w in weights.items() if t in terms) / total

    # -- entry point --------------------------------------------------------------------
    def run(self, query: AnalyzedQuery, qvec: np.ndarray, cands: list[Candidate]) -> list[Candidate]:
        if not cands:
            return []
        x = self.features(query, qvec, cands)
        raw = self.model.raw(x)
        probs = self.model.calibrated(raw, self.unknown_share(query))
        for c, p in zip(cands, probs, strict=True):
            c.score = float(p)
        cands.sort(key=lambda c: (-c.score, c.doc_id, c.start, c.kind))
        if self.continuation is not None:  # only the best one can be quoted with its next sentence
            row = self.continuation_rows(query, qvec, cands[:1])[0]
            if not np.isnan(row).any():
                cands[0].continues = self.continuation.probability(row)
        return cands

    def continuation_rows(self, query: AnalyzedQuery, qvec: np.ndarray, cands: list[Candidate]) -> np.ndarray:
        """service.continuation's features for quoting each candidate with its next sentence (rows
        of NaN where it has none)."""
        weights = self.query_weights(query)
        value = VALUE_PATTERNS.get(query.answer_type) if query.answer_type != "yes_no" else None
        out = np.full((len(cands), len(CONTINUATION_FEATURES)), np.nan)
        for i, c in enumerate(cands):
            row = continuation_row(self.index, query, qvec, weights, value, c)
            if row is not None:
                out[i] = row
        return out


@dataclass(frozen=True)
class _Shape:
    own_terms: frozenset[str]
    terms: frozenset[str]  # with the section, paper and unit labels it sits under
    has: dict[str, bool]  # holds a date / amount / name … (in its value, for units)
    reason_cue: bool
    label_like: bool
    lead_in_only: bool
    heading_like: bool
    length: float
    negation: bool
    row_terms: frozenset[str]
    col_terms: frozenset[str]


def _idf(index: LoadedIndex) -> tuple[dict[str, float], float]:
    df = index.term_df  # counted at build (indexer/build.py): scanning every passage took 4.8 s at 100x
    if not df:  # an index object made without the counts
        df = {}
        for chunk in index.chunks:
            for t in set(tokenize(chunk.search_text)):
                df[t] = df.get(t, 0) + 1
    n = max(1, len(index.chunks))
    return {t: math.log(1 + n / c) for t, c in df.items()}, math.log(1 + n)
