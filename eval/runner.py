"""`minutes-qa eval`: run the gold set through the /ask code path and measure it.

In-process by default (the same Engine.ask that POST /ask calls); `--url` runs against a
live server over HTTP. `--compare` adds ablations (dense-only, BM25-only, no composer).
"""
from __future__ import annotations

import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import GOLD_PATH, GoldItem, load_gold, normalise, overlaps, passage_spans, validate

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS_PATH = EVAL_DIR / "thresholds.json"
REPORT_PATH = EVAL_DIR / "REPORT.md"
CONFIGS = {"hybrid": ("hybrid", True), "dense-only": ("dense", True), "bm25-only": ("bm25", True),
           "hybrid, top passage (no composer)": ("hybrid", False)}


@dataclass
class Outcome:
    item: GoldItem
    answer: str
    abstained: bool
    citations: list[dict]
    retrieved: list[dict]  # ranked passages (document_id, start, end)
    latency_ms: float
    top_score: float = 0.0
    fact: bool = False
    cited: bool = False
    rank: int | None = None  # 1-based rank of the first retrieved passage holding the gold passage


@dataclass
class Backend:
    """Runs one question; in-process over an Engine, or over HTTP."""

    engine: object | None = None
    url: str | None = None
    texts: dict[str, str] = field(default_factory=dict)

    def ask(self, item: GoldItem, mode: str, compose: bool) -> Outcome:
        if self.engine is not None:
            r = self.engine.ask(item.question, item.history, mode=mode, compose=compose)
            retrieved = [{"document_id": self.engine.index.chunks[h.chunk].doc_id,
                          "start": self.engine.index.chunks[h.chunk].start,
                          "end": self.engine.index.chunks[h.chunk].end} for h in r.hits]
            return Outcome(item, r.answer, r.abstained, [c.__dict__ for c in r.citations], retrieved,
                           r.took_ms, r.top_score)
        import httpx

        history = []
        for q in item.history:
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": "…"}]
        started = time.perf_counter()
        r = httpx.post(f"{self.url}/ask", json={"question": item.question, "history": history}, timeout=60)
        latency = (time.perf_counter() - started) * 1000
        r.raise_for_status()
        body = r.json()
        s = httpx.get(f"{self.url}/search", params={"q": body["query"][:2000], "k": 10}, timeout=60).json()["results"]
        return Outcome(item, body["answer"], body["abstained"], body["citations"], s, latency)


def judge(o: Outcome, texts: dict[str, str]) -> Outcome:
    item = o.item
    if not item.answerable:
        return o
    answer = normalise(o.answer)
    o.fact = not o.abstained and any(re.search(p, answer) for p in item.answer_patterns)
    spans = {d: passage_spans(t, item.passages) for d, t in texts.items()}
    o.cited = any(overlaps(c["start"], c["end"], spans.get(c["document_id"], [])) for c in o.citations)
    for i, r in enumerate(o.retrieved, 1):
        if overlaps(r["start"], r["end"], spans.get(r["document_id"], [])):
            o.rank = i
            break
    return o


def _pct(x: float) -> float:
    return round(100 * x, 1)


def metrics(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    abstained = [o for o in outcomes if o.abstained]
    true_abstentions = [o for o in unanswerable if o.abstained]
    latencies = sorted(o.latency_ms for o in outcomes)
    answered_lengths = [len(o.answer) for o in answerable if not o.abstained]
    n = max(1, len(answerable))
    m = {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "fact_accuracy": _pct(sum(o.fact for o in answerable) / n),
        "citation_accuracy": _pct(sum(o.cited for o in answerable) / n),
        "fact_and_citation": _pct(sum(o.fact and o.cited for o in answerable) / n),
        "recall_at_1": _pct(sum(o.rank == 1 for o in answerable) / n),
        "recall_at_5": _pct(sum(o.rank is not None and o.rank <= 5 for o in answerable) / n),
        "mrr": round(sum(1 / o.rank for o in answerable if o.rank) / n, 3),
        "abstention_precision": _pct(len(true_abstentions) / len(abstained)) if abstained else 100.0,
        "abstention_recall": _pct(len(true_abstentions) / len(unanswerable)) if unanswerable else 100.0,
        "false_abstention_rate": _pct(sum(o.abstained for o in answerable) / n),
        "median_answer_chars": statistics.median(answered_lengths) if answered_lengths else 0,
        "latency_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else 0,
        "latency_p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1) if latencies else 0,
    }
    kinds = sorted({o.item.kind for o in outcomes})
    m["by_kind"] = {}
    for kind in kinds:
        group = [o for o in outcomes if o.item.kind == kind]
        if kind == "unanswerable":
            m["by_kind"][kind] = {"n": len(group), "abstained": _pct(sum(o.abstained for o in group) / len(group))}
        else:
            m["by_kind"][kind] = {"n": len(group), "fact": _pct(sum(o.fact for o in group) / len(group)),
                                  "citation": _pct(sum(o.cited for o in group) / len(group)),
                                  "recall_at_5": _pct(sum(o.rank is not None and o.rank <= 5 for o in group) / len(group))}
    return m


def run(backend: Backend, items: list[GoldItem], mode: str = "hybrid", compose: bool = True) -> list[Outcome]:
    cache = getattr(backend.engine, "_embed_cached", None)
    if hasattr(cache, "cache_clear"):
        cache.cache_clear()  # each configuration pays for its own query embeddings (honest latency)
    return [judge(backend.ask(item, mode, compose), backend.texts) for item in items]


def calibrate(outcomes: list[Outcome]) -> float:
    """The abstention threshold that best separates answered-correctly from unanswerable questions:
    maximise (#answerable whose fact is right and kept) + (#unanswerable abstained)."""
    scored = [(o.top_score, o.item.answerable and o.fact, not o.item.answerable) for o in outcomes]
    cuts = sorted({s for s, _, _ in scored})
    best, best_cut = -1, 0.0
    for i, cut in enumerate(cuts):
        gain = sum(ok for s, ok, _ in scored if s >= cut) + sum(un for s, _, un in scored if s < cut)
        if gain > best:
            lower = cuts[i - 1] if i else cut - 0.01
            best, best_cut = gain, round((lower + cut) / 2, 4)
    return best_cut


def table(rows: dict[str, dict]) -> str:
    keys = ["fact_accuracy", "citation_accuracy", "fact_and_citation", "recall_at_1", "recall_at_5", "mrr",
            "abstention_precision", "abstention_recall", "false_abstention_rate", "median_answer_chars",
            "latency_p50_ms", "latency_p95_ms"]
    head = "| metric | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows) + "\n"
    return head + "".join(f"| {k} | " + " | ".join(str(r[k]) for r in rows.values()) + " |\n" for k in keys)


def write_report(path: Path, results: dict[str, dict], outcomes: list[Outcome], meta: dict) -> None:
    main = results["hybrid"]
    lines = [f"# Evaluation report\n", f"Generated {meta['date']} on {meta['machine']}; index {meta['index']}; "
             f"{main['questions']} questions ({main['answerable']} answerable, {main['unanswerable']} unanswerable).\n",
             "Fact = an accepted answer pattern is in the answer (not abstained); citation = the gold passage is among "
             "the citations; recall@k / MRR = rank of the gold passage among retrieved passages.\n",
             "## Metrics\n", table(results), "\n## By kind (hybrid)\n", "| kind | n | fact % | citation % | recall@5 % / abstained % |",
             "|---|---|---|---|---|"]
    for kind, k in main["by_kind"].items():
        lines.append(f"| {kind} | {k['n']} | {k.get('fact', '')} | {k.get('citation', '')} | {k.get('recall_at_5', k.get('abstained'))} |")
    misses = [o for o in outcomes if (o.item.answerable and not (o.fact and o.cited)) or (not o.item.answerable and not o.abstained)]
    lines.append(f"\n## Misses ({len(misses)})\n")
    for o in misses:
        what = "answered an unanswerable question" if not o.item.answerable else \
            ("abstained" if o.abstained else ("wrong fact" if not o.fact else "") + (" · gold passage not cited" if not o.cited else ""))
        lines.append(f"### {o.item.id} ({o.item.kind}): {what.strip(' ·')}\n")
        lines.append(f"- **Question:** {o.item.question}" + (f" (after: {' / '.join(o.item.history)})" if o.item.history else ""))
        if o.item.answerable:
            lines.append(f"- **Expected:** `{' | '.join(o.item.answer_patterns)}` citing “{o.item.passages[0][:160]}”")
        lines.append(f"- **Got:** {o.answer[:400]}")
        for c in o.citations[:3]:
            lines.append(f"  - [{c['n']}] {c['document_id']} {c.get('section') or ''}: “{' '.join(c['quote'].split())[:200]}”")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def check_thresholds(m: dict, path: Path = THRESHOLDS_PATH) -> list[str]:
    limits = json.loads(path.read_text())
    return [f"{k} {m[k]} < threshold {v}" for k, v in limits.items() if m[k] < v]


def main(args, settings) -> int:
    import datetime as dt
    import platform

    from indexer.embed import load_embedder
    from indexer.store import IndexLoadError
    from service.engine import Engine
    from service.index import load_index

    items = load_gold(Path(args.gold) if args.gold else GOLD_PATH)
    try:
        engine = Engine(load_index(settings.index_dir, load_embedder(settings.model)))
    except IndexLoadError as exc:
        print(f"minutes-qa eval: {exc}", file=sys.stderr)
        return 2
    texts = {d: doc.text for d, doc in engine.index.documents.items()}
    labelled = {}
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
    backend = Backend(engine=None if args.url else engine, url=args.url.rstrip("/") if args.url else None, texts=texts)
    if args.calibrate:
        from service import answer

        saved = engine.composer.threshold
        engine.composer.threshold = float("-inf")
        cut = calibrate(run(backend, items))
        engine.composer.threshold = saved
        cal = answer.load_calibration()
        cal["abstain_threshold"] = cut
        answer.CALIBRATION_FILE.write_text(json.dumps(cal, indent=2) + "\n")
        engine.composer.threshold = cut
        print(f"abstention threshold set to {cut} in {answer.CALIBRATION_FILE}")
    outcomes = run(backend, items)
    results = {"hybrid": metrics(outcomes)}
    if args.compare:
        if args.url:
            print("--compare runs in-process only; ignoring it with --url", file=sys.stderr)
        else:
            for name, (mode, compose) in list(CONFIGS.items())[1:]:
                results[name] = metrics(run(backend, items, mode, compose))
    if args.report != "-":
        meta = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {platform.python_version()}, "
                f"{__import__('os').cpu_count()} cores", "index": engine.index.version}
        write_report(Path(args.report) if args.report else REPORT_PATH, results, outcomes, meta)
    if args.json:
        print(json.dumps(results if args.compare else results["hybrid"]))
    else:
        print(table(results))
        for kind, k in results["hybrid"]["by_kind"].items():
            print(f"  {kind:13s} {k}")
    failures = check_thresholds(results["hybrid"]) if THRESHOLDS_PATH.exists() else []
    for f in failures:
        print(f"below threshold: {f}", file=sys.stderr)
    return 1 if failures else 0
