"""The service's commands of `minutes-qa`: index, ask, search, serve, alerts.

The evaluation commands (eval, train, train-encoder) live in `eval/commands.py`, because the service
never imports `eval/`; the `minutes-qa` console script (`eval/cli.py`) passes them in through
`main(commands=...)`. `python -m service.cli` runs the service's commands alone.

`ask` and `search` apply the same checks as the API (`service.validation`), so a question the API
refuses is refused here with the same message, as one line and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from service.settings import Settings

# A function that adds subcommands to the `minutes-qa` parser (see eval/commands.py).
CommandRegistrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _die(message: str, code: int = 2) -> NoReturn:
    print(f"minutes-qa: {message}", file=sys.stderr)
    raise SystemExit(code)


def _require_postgres_driver() -> None:
    """A database URL is set: the optional PostgreSQL driver must be installed (a one-line hint if not)."""
    try:
        import pgvector  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        _die(
            f"a PostgreSQL database URL is set but its driver is not installed ({exc.name or exc}): "
            "pip install '.[postgres]' (from a checkout) or 'minutes-qa[postgres]'"
        )


def _positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number (at least 1)")
    return value


def _settings() -> Settings:
    """Settings from the environment; a bad MINUTES_QA_* value is one line and exit 2, not a traceback."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"MINUTES_QA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()[:3])
        _die(f"bad setting: {problems}")


def _embedder(settings: Settings) -> Any:
    """The encoder for index builds: batch work, so it uses every core (a cold build of the five
    papers: 79 s on one thread, 53 s on two; the service keeps `torch_threads` per question)."""
    import os

    from indexer.embed import EncoderMissing, load_embedder

    try:
        return load_embedder(settings.model, settings.encoder_backend, os.cpu_count() or settings.torch_threads)
    except (EncoderMissing, ValueError) as exc:
        _die(str(exc))


def _embedder_factory(settings: Settings) -> Any:
    """What each embedding worker calls to load its own encoder (one thread a worker)."""
    import functools

    from indexer.embed import load_embedder

    return functools.partial(load_embedder, settings.model, settings.encoder_backend, 1)


def cmd_index_database(args: argparse.Namespace, settings: Settings, url: str) -> None:
    """`minutes-qa index --database-url …`: migrate, then bring the database's index up to date in
    one transaction (service/backends/postgres/writer.py)."""
    import contextlib

    from indexer.corpus import CorpusError
    from service.backends.postgres.writer import index_database

    if args.check:
        _die("--check reads the index folder; `minutes-qa index --database-url …` says if the database is up to date")
    _require_postgres_driver()
    corpus = Path(args.corpus or settings.corpus_dir)
    embedder = _embedder(settings)
    with contextlib.ExitStack() as stack:
        encode = None
        if args.workers > 1 or args.ray_address:
            from indexer.parallel_embed import ParallelEncoder

            try:
                encode = stack.enter_context(
                    ParallelEncoder(_embedder_factory(settings), args.workers, args.ray_address)
                )
            except RuntimeError as exc:
                _die(str(exc))
        try:
            report = index_database(
                corpus,
                url,
                embedder,
                force=args.force,
                on_error=args.on_error or settings.on_parse_error,
                ocr=args.ocr or settings.ocr,
                encode=encode,
            )
        except CorpusError as exc:
            _die(f"corpus problem: {exc}\n  nothing was changed; the database's live version is as it was")
        except Exception as exc:  # the database refused or went away: the transaction was rolled back
            import psycopg

            from indexer.store import IndexLoadError

            if isinstance(exc, psycopg.Error | IndexLoadError):
                _die(f"database problem: {str(exc).strip()}\n  nothing was published; the live version is as it was")
            raise
    print(report.summary())


def cmd_index(args: argparse.Namespace, settings: Settings) -> None:
    from indexer.build import build_index, index_status
    from indexer.corpus import CorpusError
    from indexer.embed import MINILM_NAME

    url = args.database_url or settings.database_url
    if url:
        cmd_index_database(args, settings, url)
        return
    if args.workers > 1 or args.ray_address:
        _die("--workers and --ray-address apply to database builds (--database-url)")
    corpus, root = Path(args.corpus or settings.corpus_dir), Path(args.index or settings.index_dir)
    ocr = args.ocr or settings.ocr
    if args.check:
        fresh, reason = index_status(corpus, root, settings.model if settings.model else MINILM_NAME, ocr=ocr)
        print(reason)
        raise SystemExit(0 if fresh else 1)
    try:
        report = build_index(
            corpus,
            root,
            _embedder(settings),
            force=args.force,
            on_error=args.on_error or settings.on_parse_error,
            ocr=ocr,
        )
    except CorpusError as exc:
        _die(f"corpus problem: {exc}\n  nothing was changed; the previous index (if any) is still live")
    print(report.summary())


def _parse_filters(items: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            _die(f"--filter takes key=value (document_id, body, doc_type, date_from, date_to), got '{item}'")
        key, value = item.split("=", 1)
        if key in ("document_id", "body", "doc_type"):
            spec.setdefault(key, []).append(value)
        elif key in ("date_from", "date_to"):
            try:
                spec[key] = dt.date.fromisoformat(value)
            except ValueError:
                _die(f"--filter {key} must be a date YYYY-MM-DD, got '{value}'")
        else:
            _die(f"unknown filter '{key}' (use document_id, body, doc_type, date_from, date_to)")
    return spec


def _engine(settings: Settings) -> Any:
    from indexer.store import IndexLoadError
    from service.engine import Engine
    from service.index import load_index

    embedder = _embedder(settings)
    try:
        if settings.database_url:
            _require_postgres_driver()
            from service.backends.postgres.loader import load_database_index

            return Engine(load_database_index(settings.database_url, embedder, lexical=settings.database_lexical))
        return Engine(load_index(settings.index_dir, embedder))
    except IndexLoadError as exc:
        _die(str(exc))


def _filters(engine: Any, items: list[str] | None) -> Any:
    from pydantic import ValidationError

    from service.errors import ApiError
    from service.schemas import FilterSpec
    from service.validation import to_filters

    try:
        return to_filters(engine, FilterSpec(**_parse_filters(items)))
    except ApiError as exc:
        _die(exc.message)
    except ValidationError as exc:
        _die(f"bad filter: {exc.errors()[0]['msg']}")


def _checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a service-layer check; a refusal becomes the CLI's one-line message and exit code 2."""
    from service.errors import ApiError

    try:
        return check(*args, **kwargs)
    except ApiError as exc:
        _die(exc.message)


def format_citation(c: Any, doc_type: str) -> str:
    from service.references import reference_line

    return reference_line(c, doc_type)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> None:
    from service.validation import check_history, check_question

    question = _checked(check_question, args.question, settings)  # before the model loads: fail fast
    history = _checked(check_history, [("user", q) for q in args.history or []], settings)
    engine = _engine(settings)
    result = engine.ask(question, history, _filters(engine, args.filter), top_k=args.top_k, explain=args.explain)
    if args.json:
        out = {k: v for k, v in result.__dict__.items() if k not in ("hits", "timings_ms", "explain")}
        if args.explain:
            out["explain"] = result.explain
        out["citations"] = [c.__dict__ for c in result.citations]
        out["related"] = [c.__dict__ for c in result.related]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    print(result.answer)
    if result.query != question:
        print(f"\n(query used: {result.query})")
    listed = result.citations or result.related
    if listed:
        print("\nSources:" if result.citations else "\nClosest passages (not an answer):")
        for c in listed:
            print("  " + format_citation(c, engine.index.documents[c.document_id].meta.doc_type))
    if result.answer_span:
        c = result.citations[result.answer_span["citation"] - 1]
        doc = engine.index.documents[c.document_id].text
        print(
            f"\nshort answer [{c.n}]: {' '.join(doc[result.answer_span['start'] : result.answer_span['end']].split())}"
        )
    print(f"\nconfidence {result.confidence:.2f} · {result.took_ms:.0f} ms")
    if args.explain:
        print_explain(result.explain)


def print_explain(x: dict[str, Any]) -> None:
    a = x["analysis"]
    print("\n== question analysis ==")
    print(
        f"  standalone: {a['standalone']}\n  answer type: {a['answer_type']}  fact roles: {a['fact_roles'] or '-'}"
        f"  extreme: {a['extreme'] or '-'}  follow-up: {a['follow_up']}"
    )
    named = {k: v for k, v in a["constraints"].items() if v}
    print(f"  names: {named or 'no meeting, body or paper'}")
    print("== retrieval (fused ranking) ==")
    for h in x["retrieval"]:
        print(
            f"  {h['rank']:>2}. {h['document_id']} · {h['section'] or ''} · rrf {h['fused']} dense {h['dense']}"
            f" bm25 {h['bm25']}"
        )
    print("== top candidates ==")
    for c in x["candidates"]:
        feats = " ".join(f"{k}={v}" for k, v in c["features"].items() if v)
        print(f"  p={c['probability']:.3f} {c['kind']:<11} {c['document_id']}: {c['text'][:110]}\n      {feats}")
    print(f"== decision: {'abstained' if x['decision']['abstained'] else 'answered'} ({x['decision']['reason']})")


def cmd_search(args: argparse.Namespace, settings: Settings) -> None:
    from service.validation import check_question

    query = _checked(check_question, args.query, settings, subject="search text")
    engine = _engine(settings)
    for c in engine.search(query, args.k, _filters(engine, args.filter)):
        print(format_citation(c, engine.index.documents[c.document_id].meta.doc_type)[:400])


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from service.api import create_app

    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    if settings.database_url:
        _require_postgres_driver()
    if not settings.start_without_index:  # refuse early, before loading the model, with one clear message
        from indexer.store import IndexLoadError, open_version

        try:
            if not settings.database_url:  # a database is checked when the app loads it (a clear 503 before)
                open_version(settings.index_dir, settings.model)
        except IndexLoadError as exc:
            _die(f"cannot start: {exc}")
        from indexer.embed import EncoderMissing, check_encoder

        try:
            check_encoder(settings.model)  # a fine-tuned encoder not built here: say so before starting
        except (EncoderMissing, ValueError) as exc:
            _die(f"cannot start: {exc}")
    from service.scoring import import_lightgbm_without_sklearn

    import_lightgbm_without_sklearn()  # start-up: serving needs no scikit-learn
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)


def _alert_service(settings: Settings) -> Any:
    from service.alerts.service import AlertService
    from service.alerts.store import AlertStoreError

    alerts = AlertService(settings)
    try:
        alerts.open_existing()
    except AlertStoreError as exc:
        _die(str(exc))
    return alerts


def cmd_alerts_check(args: argparse.Namespace, settings: Settings) -> None:
    """For cron after `minutes-qa index` while the service is not running (the service checks
    every version it loads itself). Idempotent: a passage is never recorded or posted twice."""
    alerts = _alert_service(settings)
    if not alerts.store.exists():
        print("no alerts saved")  # before loading the model: nothing to check
        return
    report = alerts.check(_engine(settings), force=args.force)
    print(report.summary())
    alerts.wait_for_deliveries()  # the webhook posts run in a background thread; let them finish
    waiting = len(alerts.store.pending_deliveries())
    if waiting:
        print(f"{waiting} webhook post(s) undelivered; they are retried at the next check")
    alerts.close()


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> None:
    alerts = _alert_service(settings)
    saved = alerts.alerts()
    if args.json:
        print(json.dumps([{**a.__dict__, "feed_url": a.feed_url} for a in saved], ensure_ascii=False, indent=2))
        return
    if not saved:
        print("no alerts saved")
    for a in saved:
        print(
            f"{a.id}  {a.created[:16].replace('T', ' ')}  {a.title or a.query!r}  {a.new_count} new,"
            f" {a.match_count} in all  checked at {a.last_checked_version or '-'}  feed {a.feed_url}"
        )


def build_parser(commands: Sequence[CommandRegistrar] = ()) -> argparse.ArgumentParser:
    """The parser with the service's subcommands, then each registrar's, in order."""
    p = argparse.ArgumentParser(prog="minutes-qa", description="Question answering over council meeting papers.")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("index", help="build or update the index from corpus/")
    i.add_argument("--corpus", help="corpus folder (default: MINUTES_QA_CORPUS_DIR or ./corpus)")
    i.add_argument("--index", help="index folder (default: MINUTES_QA_INDEX_DIR or ./index)")
    i.add_argument("--force", action="store_true", help="rebuild everything, re-embedding all text")
    i.add_argument("--check", action="store_true", help="exit 0 if the index is up to date, 1 if missing or stale")
    i.add_argument(
        "--on-error", choices=["fail", "skip"], help="a paper that cannot be parsed: refuse the build (fail) or skip it"
    )
    i.add_argument(
        "--ocr",
        action="store_true",
        help="read PDF pages that have no text layer (scans) with tesseract OCR; without it they are skipped",
    )
    i.add_argument(
        "--database-url",
        help="write the index to PostgreSQL + pgvector (postgresql://…; default: MINUTES_QA_DATABASE_URL)",
    )
    i.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="embed on N workers (database builds; Ray if installed, else processes)",
    )
    i.add_argument("--ray-address", help="embed on this Ray cluster (ray://host:10001 or auto; needs [distributed])")
    i.set_defaults(func=cmd_index)

    a = sub.add_parser("ask", help="ask a question")
    a.add_argument("question")
    a.add_argument("--json", action="store_true", help="print the /ask JSON")
    a.add_argument(
        "--filter", action="append", metavar="KEY=VALUE", help="document_id, body, doc_type, date_from, date_to"
    )
    a.add_argument(
        "--history", action="append", metavar="QUESTION", help="an earlier question in the conversation (repeatable)"
    )
    a.add_argument("--top-k", type=int, default=3, choices=range(1, 21), metavar="1..20")
    a.add_argument(
        "--explain",
        action="store_true",
        help="show the question analysis, retrieval ranking, candidates with features, and the decision",
    )
    a.set_defaults(func=cmd_ask)

    s = sub.add_parser("search", help="list the passages that match a query")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=10, choices=range(1, 51), metavar="1..50")
    s.add_argument("--filter", action="append", metavar="KEY=VALUE")
    s.set_defaults(func=cmd_search)

    v = sub.add_parser("serve", help="serve the web chat and API")
    v.add_argument("--host")
    v.add_argument("--port", type=int)
    v.add_argument("--log-level", default="info")
    v.set_defaults(func=cmd_serve)

    al = sub.add_parser("alerts", help="saved searches: check the index for new matches, or list them")
    al_sub = al.add_subparsers(dest="alerts_command", required=True)
    c = al_sub.add_parser("check", help="record new matches in the live index version and send their webhooks")
    c.add_argument("--force", action="store_true", help="also re-check alerts already checked at this version")
    c.set_defaults(func=cmd_alerts_check)
    ls = al_sub.add_parser("list", help="list the saved searches")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_alerts_list)

    from indexer.moderngov import register as register_fetch  # imports no network library until it runs

    for register in (register_fetch, *commands):
        register(sub)
    return p


def main(argv: list[str] | None = None, commands: Sequence[CommandRegistrar] = ()) -> None:
    args = build_parser(commands).parse_args(argv)
    args.func(args, _settings())


if __name__ == "__main__":
    main()
