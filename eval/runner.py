"""`minutes-qa eval`: run the gold set through the /ask code path and measure it.

Headline figures are the frozen TEST split's (`eval/split.json`); the train split is scored only
to show the train–test gap. In-process by default (the same Engine.ask that POST /ask calls);
`--url` runs against a live server over HTTP. `--compare` measures each component by building
engines without it, composed here from the service's stages — the production path has no ablation switches.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.gold import GOLD_PATH, GoldItem, load_gold, normalise, overlaps, passage_spans, validate

if TYPE_CHECKING:
    from service.engine import Engine

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS_PATH = EVAL_DIR / "thresholds.json"
REPORT_PATH = EVAL_DIR / "REPORT.md"
HIGH_CONFIDENCE = 0.9


@dataclass
class Outcome:
    item: GoldItem
    answer: str
    abstained: bool
    confidence: float
    citations: list[dict]
    retrieved: list[dict]  # ranked passages (document_id, start, end)
    latency_ms: float
    answer_span: dict | None = None
    fact: bool = False
    cited: bool = False
    also_cited: bool = True
    span_ok: bool = False  # the short answer span itself holds an accepted answer
    rank: int | None = None  # 1-based rank of the first retrieved passage holding the gold passage


@dataclass
class Backend:
    """Runs one question; in-process over an Engine, or over HTTP."""

    engine: Engine | None = None
    url: str | None = None
    texts: dict[str, str] = field(default_factory=dict)

    def ask(self, item: GoldItem) -> Outcome:
        if self.engine is not None:
            r = self.engine.ask(item.question, item.history)
            chunks = self.engine.index.chunks
            retrieved = [
                {"document_id": chunks[h.chunk].doc_id, "start": chunks[h.chunk].start, "end": chunks[h.chunk].end}
                for h in r.hits
            ]
            return Outcome(
                item,
                r.answer,
                r.abstained,
                r.confidence,
                [c.__dict__ for c in r.citations],
                retrieved,
                r.took_ms,
                r.answer_span,
            )
        import httpx

        history = []
        for q in item.history:
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": "…"}]
        started = time.perf_counter()
        resp = httpx.post(f"{self.url}/ask", json={"question": item.question, "history": history}, timeout=60)
        latency = (time.perf_counter() - started) * 1000
        resp.raise_for_status()
        body = resp.json()
        s = httpx.get(f"{self.url}/search", params={"q": body["query"][:2000], "k": 20}, timeout=60).json()["results"]
        return Outcome(
            item,
            body["answer"],
            body["abstained"],
            body["confidence"],
            body["citations"],
            s,
            latency,
            body.get("answer_span"),
        )


def judge(o: Outcome, texts: dict[str, str]) -> Outcome:
    item = o.item
    if not item.answerable:
        return o
    answer = normalise(o.answer)
    o.fact = not o.abstained and any(re.search(p, answer) for p in item.answer_patterns)
    if item.kind == "meeting":  # "at which meeting": the first citation must be that meeting's paper
        o.fact = o.fact and bool(o.citations) and o.citations[0]["document_id"] == item.gold_document
    spans = {d: passage_spans(t, item.passages) for d, t in texts.items()}
    o.cited = any(overlaps(c["start"], c["end"], spans.get(c["document_id"], [])) for c in o.citations)
    cited_docs = {c["document_id"] for c in o.citations}
    o.also_cited = all(d in cited_docs for d in item.also_cites)
    if o.answer_span and o.fact:
        c = o.citations[o.answer_span["citation"] - 1]
        short = normalise(texts[c["document_id"]][o.answer_span["start"] : o.answer_span["end"]])
        o.span_ok = any(re.search(p, short) for p in item.answer_patterns)
    for i, r in enumerate(o.retrieved, 1):
        if overlaps(r["start"], r["end"], spans.get(r["document_id"], [])):
            o.rank = i
            break
    return o


def _pct(x: float) -> float:
    return round(100 * x, 1)


def _share(group: list[Outcome], test) -> float:
    return _pct(sum(1 for o in group if test(o)) / len(group)) if group else 0.0


def metrics(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    abstained = [o for o in outcomes if o.abstained]
    answered = [o for o in outcomes if not o.abstained]
    confident = [o for o in answered if o.confidence >= HIGH_CONFIDENCE]
    latencies = sorted(o.latency_ms for o in outcomes)
    lengths = [len(o.answer) for o in answerable if not o.abstained]
    with_span = [o for o in answerable if o.fact and o.answer_span]
    multi = [o for o in answerable if o.item.also_cites]

    def recall(k: int, group: list[Outcome]) -> float:
        return _share(group, lambda o: o.rank is not None and o.rank <= k)

    m: dict[str, Any] = {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "fact_accuracy": _share(answerable, lambda o: o.fact),
        "citation_accuracy": _share(answerable, lambda o: o.cited),
        "fact_and_citation": _share(answerable, lambda o: o.fact and o.cited),
        "also_cites_accuracy": _share(multi, lambda o: o.fact and o.also_cited) if multi else 100.0,
        "recall_at_1": recall(1, answerable),
        "recall_at_5": recall(5, answerable),
        "recall_at_10": recall(10, answerable),
        "mrr": round(sum(1 / o.rank for o in answerable if o.rank) / max(1, len(answerable)), 3),
        "abstention_precision": _share(abstained, lambda o: not o.item.answerable) if abstained else 100.0,
        "abstention_recall": _share(unanswerable, lambda o: o.abstained) if unanswerable else 100.0,
        "false_abstention_rate": _share(answerable, lambda o: o.abstained),
        "confident_answers": len(confident),
        "confident_correct": _share(confident, lambda o: o.item.answerable and o.fact) if confident else 100.0,
        "answer_span_given": _share([o for o in answerable if o.fact], lambda o: bool(o.answer_span)),
        "answer_span_correct": _share(with_span, lambda o: o.span_ok) if with_span else 0.0,
        "median_answer_chars": statistics.median(lengths) if lengths else 0,
        "latency_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else 0,
        "latency_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1) if latencies else 0,
    }

    def group_stats(group: list[Outcome]) -> dict:
        ans = [o for o in group if o.item.answerable]
        una = [o for o in group if not o.item.answerable]
        out: dict[str, float] = {"n": len(group)}
        if ans:
            out.update(
                fact=_share(ans, lambda o: o.fact),
                citation=_share(ans, lambda o: o.cited),
                recall_at_5=recall(5, ans),
                recall_at_10=recall(10, ans),
                false_abstention=_share(ans, lambda o: o.abstained),
            )
        if una:
            out["abstained"] = _share(una, lambda o: o.abstained)
        return out

    m["by_kind"] = {
        k: group_stats([o for o in outcomes if o.item.kind == k]) for k in sorted({o.item.kind for o in outcomes})
    }
    m["by_tag"] = {
        t: group_stats([o for o in outcomes if t in o.item.tags])
        for t in sorted({t for o in outcomes for t in o.item.tags})
    }
    m["by_style"] = {
        s: group_stats([o for o in outcomes if o.item.style == s]) for s in sorted({o.item.style for o in outcomes})
    }
    m["by_paper"] = {
        p: group_stats([o for o in outcomes if o.item.gold_document == p])
        for p in sorted({o.item.gold_document for o in outcomes if o.item.gold_document})
    }
    return m


def run(backend: Backend, items: list[GoldItem]) -> list[Outcome]:
    cache = getattr(backend.engine, "_embed_cached", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()  # each configuration pays for its own query embeddings (honest latency)
    return [judge(backend.ask(item), backend.texts) for item in items]


HEADLINE = [
    "fact_accuracy",
    "citation_accuracy",
    "fact_and_citation",
    "also_cites_accuracy",
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "mrr",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "confident_answers",
    "confident_correct",
    "answer_span_given",
    "answer_span_correct",
    "median_answer_chars",
    "latency_p50_ms",
    "latency_p95_ms",
]


def table(rows: dict[str, dict], keys: list[str] = HEADLINE) -> str:
    head = "| metric | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows) + "\n"
    return head + "".join(f"| {k} | " + " | ".join(str(r.get(k, "")) for r in rows.values()) + " |\n" for k in keys)


def group_table(title: str, groups: dict[str, dict]) -> list[str]:
    lines = [
        f"\n## {title}\n",
        "| group | n | fact % | citation % | recall@5 % | recall@10 % | false abstention % | unanswerable refused % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, g in groups.items():
        lines.append(
            f"| {name} | {g['n']} | {g.get('fact', '')} | {g.get('citation', '')} | {g.get('recall_at_5', '')}"
            f" | {g.get('recall_at_10', '')} | {g.get('false_abstention', '')} | {g.get('abstained', '')} |"
        )
    return lines


def write_report(path: Path, results: dict[str, dict], outcomes: list[Outcome], meta: dict) -> None:
    test, train = results["test"], results.get("train")
    lines = [
        "# Evaluation report\n",
        f"Generated {meta['date']} on {meta['machine']}; index {meta['index']}; scorer fitted on "
        f"{meta['trained_on']}.\n",
        f"Headline figures are the frozen **test** split ({test['questions']} questions: {test['answerable']} "
        f"answerable, {test['unanswerable']} unanswerable), written independently from the papers and never used "
        "to fit or choose anything. Train figures are shown only for the gap.\n",
        "Fact = an accepted answer pattern is in the answer (for 'at which meeting' questions, and the first "
        "citation is that meeting's paper); citation = the gold passage is among the citations; also-cites = a "
        "cross-meeting answer cites every paper it needs; recall@k = the gold passage is among the first k "
        "retrieved passages; confident = answers given with confidence ≥ 0.9; answer span = the short span "
        "itself holds an accepted answer.\n",
        "## Test split (headline) and train–test gap\n",
        table({"test": test, **({"train": train} if train else {})}),
    ]
    ablations = {k: v for k, v in results.items() if k not in ("test", "train")}
    if ablations:
        lines += [
            "\n## Ablations (test split; each component removed)\n",
            table(
                {"full": test, **ablations},
                [
                    "fact_accuracy",
                    "fact_and_citation",
                    "recall_at_5",
                    "recall_at_10",
                    "abstention_recall",
                    "false_abstention_rate",
                    "confident_correct",
                    "median_answer_chars",
                ],
            ),
        ]
    lines += group_table("Test by phrasing style", test["by_style"])
    lines += group_table("Test by failure class (tag)", test["by_tag"])
    lines += group_table("Test by kind", test["by_kind"])
    lines += group_table("Test by paper", test["by_paper"])
    misses = [
        o
        for o in outcomes
        if (o.item.answerable and not (o.fact and o.cited)) or (not o.item.answerable and not o.abstained)
    ]
    lines.append(f"\n## Test misses ({len(misses)})\n")
    for o in misses:
        what = (
            "answered an unanswerable question"
            if not o.item.answerable
            else (
                "abstained"
                if o.abstained
                else ("wrong fact" if not o.fact else "") + (" · gold passage not cited" if not o.cited else "")
            )
        )
        lines.append(f"### {o.item.id} ({o.item.kind}, {o.item.style}): {what.strip(' ·')}\n")
        lines.append(
            f"- **Question:** {o.item.question}" + (f" (after: {' / '.join(o.item.history)})" if o.item.history else "")
        )
        if o.item.answerable:
            lines.append(f"- **Expected:** `{' | '.join(o.item.answer_patterns)}` citing “{o.item.passages[0][:160]}”")
        lines.append(f"- **Got** (confidence {o.confidence}): {o.answer[:400]}")
        for c in o.citations[:3]:
            lines.append(
                f"  - [{c['n']}] {c['document_id']} {c.get('section') or ''}: “{' '.join(c['quote'].split())[:200]}”"
            )
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def check_thresholds(m: dict, path: Path = THRESHOLDS_PATH, population: str = "test") -> list[str]:
    """Gate failures for one population of thresholds.json ("test": the frozen test split;
    "round1": the round-1 questions). Keys are floors; "max_" keys are ceilings."""
    limits = json.loads(path.read_text()).get(population, {})
    failures = []
    for k, v in limits.items():
        if k.startswith("max_"):
            if m[k[4:]] > v:
                failures.append(f"{k[4:]} {m[k[4:]]} > limit {v}")
        elif m[k] < v:
            failures.append(f"{k} {m[k]} < threshold {v}")
    return failures


def ablation_engines(index) -> dict[str, Engine]:
    """Engines with one component removed each, composed here from the service's stages (the
    production pipeline has no switch for them)."""
    from service.engine import Engine, PipelineOptions
    from service.scoring import default_model

    class WithoutCandidates(Engine):
        """The production engine whose candidate stage drops some kinds of answer unit."""

        def __init__(self, index, kinds: set[str]) -> None:
            super().__init__(index)
            self.dropped = kinds

        def candidates(self, query, hits):
            return [c for c in super().candidates(query, hits) if c.kind not in self.dropped]

    units = {"list", "field", "cell", "column_fact"}
    return {
        "no typed units (sentences only)": WithoutCandidates(index, units),
        "no meeting facts": WithoutCandidates(index, {"fact"}),
        "no named-meeting retrieval pass": Engine(index, options=PipelineOptions(named_pass=False)),
        "no passage re-ranker (fusion order)": Engine(index, options=PipelineOptions(rerank=False)),
        "no pseudo-relevance feedback": Engine(index, options=PipelineOptions(feedback=None)),
        "no plain-English glossary": Engine(index, options=PipelineOptions(glossary=False)),
        "dense retrieval only": Engine(index, options=PipelineOptions(retrieval_mode="dense")),
        "BM25 retrieval only": Engine(index, options=PipelineOptions(retrieval_mode="bm25")),
        "unfitted scorer (fixed weights)": Engine(index, model=default_model()),
    }


def main(args, settings) -> int:
    import datetime as dt
    import os
    import platform

    from eval.split import assign, load_split, save_split, side
    from indexer.embed import load_embedder
    from indexer.store import IndexLoadError
    from service.engine import Engine
    from service.index import load_index

    items = load_gold(Path(args.gold) if args.gold else GOLD_PATH)
    if args.assign_split:
        split = assign(items, load_split())
        save_split(split)
        print(
            f"split: {sum(v == 'train' for v in split.values())} train, {sum(v == 'test' for v in split.values())} test"
        )
        return 0
    try:
        engine = Engine(load_index(settings.index_dir, load_embedder(settings.model, settings.encoder_backend)))
    except IndexLoadError as exc:
        print(f"minutes-qa eval: {exc}", file=sys.stderr)
        return 2
    texts = {d: doc.text for d, doc in engine.index.documents.items()}
    labelled: dict[str, str] = {}
    for c in engine.index.chunks:
        if c.kind == "table_row":
            labelled[c.doc_id] = labelled.get(c.doc_id, "") + c.search_text.replace("\n", " ") + "\n"
    problems = validate(items, texts, labelled)
    if problems:
        print("gold set problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if args.validate:
        print(f"gold set OK: {len(items)} questions")
        return 0
    split = load_split()
    try:
        chosen = side(items, split, args.split)
    except ValueError as exc:
        print(f"minutes-qa eval: {exc}", file=sys.stderr)
        return 1
    backend = Backend(engine=None if args.url else engine, url=args.url.rstrip("/") if args.url else None, texts=texts)
    outcomes = run(backend, chosen)
    results = {args.split: metrics(outcomes)}
    writing = args.report not in ("-", None)
    if writing and args.split == "test":
        results["train"] = metrics(run(backend, side(items, split, "train")))
    if args.compare:
        if args.url:
            print("--compare runs in-process only; ignoring it with --url", file=sys.stderr)
        else:
            for name, variant in ablation_engines(engine.index).items():
                results[name] = metrics(run(Backend(engine=variant, texts=texts), chosen))
    if writing:
        meta = {
            "date": dt.date.today().isoformat(),
            "index": engine.index.version,
            "machine": f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores",
            "trained_on": f"{engine.scorer.model.trained_on.get('questions', '?')} train questions "
            f"({engine.scorer.model.trained_on.get('date', 'never')})",
        }
        if args.split != "test":
            print("the report is written for the test split only (use --split test)", file=sys.stderr)
        else:
            write_report(Path(args.report), results, outcomes, meta)
    main_m = results[args.split]
    if args.json:
        print(json.dumps(results if len(results) > 1 else main_m))
    else:
        print(f"split: {args.split} ({main_m['questions']} questions)")
        print(table({k: v for k, v in results.items()}))
        for name, groups in (("style", main_m["by_style"]), ("tag", main_m["by_tag"])):
            for g, stats in groups.items():
                print(f"  {name} {g:14s} {stats}")
    failures = check_thresholds(main_m) if THRESHOLDS_PATH.exists() and args.split == "test" else []
    for f in failures:
        print(f"below threshold: {f}", file=sys.stderr)
    return 1 if failures else 0
