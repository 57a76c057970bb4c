"""Render bench/out/results.json as the measured section of bench/RESULTS.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"


def render(r: dict) -> str:
    m, b, q = r["machine"], r["build"], r["query"]
    ip = q["in_process"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']} "
        f"(`make bench`; raw figures in `bench/out/results.json`).",
        "",
        "### Index build (real corpus)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| papers / chunks / sentences | {b['papers']} / {b['chunks']} / {b['sentences']} |",
        f"| cold build | {b['cold_seconds']} s ({b['cold_papers_per_s']} papers/s, {b['cold_chunks_per_s']} chunks/s, "
        f"{b['cold_vectors_embedded']} texts embedded) |",
        f"| embedding throughput | {b['embedding_texts_per_s']} texts/s |",
        f"| incremental build, one paper changed | {b['incremental_seconds']} s "
        f"({b['incremental_vectors_embedded']} texts embedded, "
        f"+{b['incremental_chunks_added']}/-{b['incremental_chunks_removed']} chunks) |",
        f"| index size on disk | {b['index_size_mb']} MB |",
        "",
        "### Query latency",
        "",
        f"In-process `/ask` code path over the {ip['queries']} gold questions, query cache off: "
        f"p50 **{ip['p50_ms']} ms**, p95 {ip['p95_ms']} ms, p99 {ip['p99_ms']} ms. "
        f"Median split: " + ", ".join(f"{k} {v} ms" for k, v in ip["split_median_ms"].items()) + ".",
        "",
        "HTTP (`minutes-qa serve`, one process; the load client shares the same 2 cores):",
        "",
        "| cache | clients | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, key in (("off", "http_no_cache"), ("on", "http_with_cache")):
        for c in ("c1", "c8", "c32"):
            x = q[key][c]
            lines.append(
                f"| {label} | {x['clients']} | {x['requests']} | {x['errors']} | {x['throughput_rps']} | "
                f"{x['p50_ms']} | {x['p95_ms']} | {x['p99_ms']} |"
            )
    s = q["soak"]
    lines += [
        "",
        f"Soak ({s['clients']} clients, {s['seconds']} s, cache off): {s['requests']} requests, "
        f"**{s['errors']} errors**, {s['throughput_rps']} req/s, "
        f"p50 {s['p50_ms']} / p95 {s['p95_ms']} / p99 {s['p99_ms']} ms; RSS {s['rss_before_mb']} → "
        f"{s['rss_after_mb']} MB (growth {s['rss_growth_mb']} MB, bound {s['rss_growth_bound_mb']} MB): "
        f"**{'pass' if s['passed'] else 'FAIL'}**.",
    ]
    lines += [
        "",
        f"Service RSS: {q['http_no_cache']['rss_idle_mb']} MB idle, "
        f"{q['http_no_cache']['rss_after_load_mb']} MB after load (cache off); "
        f"{q['http_with_cache']['rss_after_load_mb']} MB after load (cache on).",
        "",
    ]
    acc = r["accuracy"]
    peer = r.get("peer_haystack", {})
    lines += ["### Peer: stock Haystack pipeline (same passages, same MiniLM, BM25 + RRF, top passage)", ""]
    if "skipped" in peer or not peer:
        lines.append(f"Skipped: {peer.get('skipped', 'not run')}.")
    else:
        lines += [
            "| | minutes-qa | Haystack | ratio (ours / theirs) |",
            "|---|---|---|---|",
            f"| fact accuracy (gold set) | {acc['fact_accuracy']}% | {peer['fact_accuracy']}% | |",
            f"| p50 latency | {ip['p50_ms']} ms | {peer['p50_ms']} ms | {round(ip['p50_ms'] / peer['p50_ms'], 2)} |",
            f"| index build | {b['cold_seconds']} s | {peer['build_seconds']} s "
            f"| {round(b['cold_seconds'] / peer['build_seconds'], 2)} |",
            f"| median answer length | {acc['median_answer_chars']} chars | {peer['median_answer_chars']} chars | |",
            "",
            "Our build embeds every sentence as well as every passage (about 2.6x the texts Haystack embeds); "
            "Haystack's answer is a whole passage and it never abstains.",
        ]
    lines += [
        "",
        "### Scaling (synthetic corpora; see bench/scale_bench.py for how they are made)",
        "",
        "| size | docs | chunks | sentences | dense index | build measured (s) | + projected embedding (s) "
        "| index MB | load s | p50 ms | p95 ms | recall@10 chunks / sentences | RSS (anon) MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| 1x | {b['papers']} | {b['chunks']} | {b['sentences']} | exact | {b['cold_seconds']} (incl. embedding) "
        f"| – | {b['index_size_mb']} | – | {ip['p50_ms']} | {ip['p95_ms']} | 1.0 / 1.0 "
        f"| {q['http_no_cache']['rss_idle_mb']} (service) |",
    ]
    for s in r["scaling"]:
        if "error" in s:
            lines.append(f"| {s['factor']}x | failed: {s['error'][-200:]!r} |")
            continue
        lines.append(
            f"| {s['factor']}x | {s['documents']} | {s['chunks']} | {s['sentences']} | {s['vector_index_type']} | "
            f"{s['build_measured_s']} | {s.get('embedding_projected_s', '–')} | {s['index_size_mb']} | "
            f"{s['process_to_first_answer_s']} | {s['p50_ms']} | {s['p95_ms']} | "
            f"{s['recall']['chunks@10']} / {s['recall']['sentences@10']} | {s['rss_after_questions_mb']['RssAnon']} |"
        )
    lines += ["", "![scaling](scaling.png)"]
    return "\n".join(lines)


def write_results_md(results: dict, path: Path) -> None:
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{render(results)}\n{END}{tail}")


if __name__ == "__main__":
    write_results_md(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
