"""`minutes-qa fetch moderngov BASE_URL …`: the command-line glue (a CommandRegistrar, see service/cli.py).

Exit codes: 0 every paper is in the corpus and current; 1 some papers failed (each is listed with
its reason) or the site could not be used at all (unreachable, refused, not ModernGov); 2 usage
errors (bad URL, bad date, unknown committee, an unreadable manifest): one line on stderr, nothing
changed; 130 interrupted (what was finished is kept; run again to resume).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DAYS = 365


def _die(message: str, code: int) -> NoReturn:
    print(f"minutes-qa: {message}", file=sys.stderr)
    raise SystemExit(code)


def base_url(text: str) -> str:
    """The site's root above mgWebService.asmx; a pasted service or page URL is cut back to it."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"BASE_URL must be an http(s) address like https://democracy.example.gov.uk, got '{text}'")
    path = parts.path
    lowered = path.lower()
    if "/mgwebservice.asmx" in lowered:
        path = path[: lowered.index("/mgwebservice.asmx")]
    elif lowered.endswith((".aspx", ".asmx")):
        path = path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _die(f"{flag} must be a date YYYY-MM-DD, got '{value}'", 2)


def cmd_fetch_moderngov(args: argparse.Namespace, settings: Any) -> NoReturn:
    """Check the arguments (exit 2 on any problem, before a request), then fetch and summarise."""
    from indexer.moderngov.client import PoliteClient
    from indexer.moderngov.fetch import FetchAborted, Fetcher, Options, UsageError
    from indexer.moderngov.store import StoreError

    try:
        base = base_url(args.base_url)
    except ValueError as exc:
        _die(str(exc), 2)
    until = _date(args.until, "--until") or dt.date.today()
    since = _date(args.since, "--since") or until - dt.timedelta(days=DEFAULT_DAYS)
    if since > until:
        _die(f"--since {since} is after --until {until}", 2)
    try:
        min_interval = float(args.min_interval)
    except ValueError:
        min_interval = -1.0
    if not min_interval >= 0:  # also refuses nan
        _die(f"--min-interval must be a number of seconds, 0 or more, got '{args.min_interval}'", 2)
    corpus = Path(args.corpus or settings.corpus_dir)
    if corpus.exists() and not corpus.is_dir():
        _die(f"--corpus {corpus} is not a folder", 2)
    opts = Options(base, corpus, since, until, tuple(args.committee or ()), args.council)

    from rich.console import Console

    err = Console(stderr=True)
    try:
        corpus.mkdir(parents=True, exist_ok=True)
        with PoliteClient(min_interval=min_interval) as client, _ProgressBar(err) as progress:
            fetcher = Fetcher(opts, client, progress)
            report = fetcher.run()
    except (UsageError, StoreError) as exc:
        _die(str(exc), 2)
    except FetchAborted as exc:
        _die(str(exc), 1)
    except KeyboardInterrupt:
        _die("interrupted; the papers fetched so far are kept - run the same command again to resume", 130)
    except OSError as exc:
        _die(f"cannot write to {corpus}: {exc}", 1)
    print_summary(report, corpus)
    raise SystemExit(1 if report.failed else 0)


class _ProgressBar:
    """A rich progress bar over the meetings, on stderr (quiet when stderr is not a terminal)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("listing meetings", total=None)

    def __enter__(self) -> Any:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, done: int, total: int, what: str) -> None:
        self._bar.update(self._task, completed=done, total=total, description=what[:60])


def print_summary(report: Any, corpus: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True)
    out.print(f"ModernGov fetch into {corpus}", markup=False)
    table = Table(show_header=True)
    table.add_column("result")
    table.add_column("papers", justify="right")
    for kind in ("added", "updated", "unchanged", "skipped", "failed"):
        table.add_row(kind, str(report.count(kind)))
    out.print(table)
    for outcome in report.outcomes:
        if outcome.kind in ("failed", "skipped"):
            out.print(f"  {outcome.kind}: {outcome.label}: {outcome.reason}", markup=False)
    out.print(f"{report.requests} requests, {report.bytes_received:,} bytes received")
    if report.count("added") or report.count("updated"):
        out.print("next: minutes-qa index (to make the new papers searchable)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `fetch` (with its one source, `moderngov`) to the `minutes-qa` parser."""
    fetch = sub.add_parser("fetch", help="fetch council papers into the corpus folder")
    sources = fetch.add_subparsers(dest="source", required=True, metavar="SOURCE")
    m = sources.add_parser(
        "moderngov",
        help="a council's meetings from its ModernGov site (mgWebService.asmx)",
        description="Fetch agendas, reports and minutes from a ModernGov site into the corpus folder and "
        "its manifest.yaml. Re-runs send conditional requests and fetch only what changed. "
        "Exit codes: 0 all fetched, 1 some papers failed or the site is unusable, 2 usage error.",
    )
    m.add_argument("base_url", metavar="BASE_URL", help="the site root, e.g. https://democracy.example.gov.uk")
    m.add_argument(
        "--committee", action="append", metavar="ID_OR_NAME", help="only this committee (id or name; repeatable)"
    )
    m.add_argument(
        "--since", metavar="YYYY-MM-DD", help=f"first meeting date (default: {DEFAULT_DAYS} days before --until)"
    )
    m.add_argument("--until", metavar="YYYY-MM-DD", help="last meeting date (default: today)")
    m.add_argument("--corpus", help="corpus folder (default: MINUTES_QA_CORPUS_DIR or ./corpus)")
    m.add_argument("--council", help="the council's name (default: from the site's host name)")
    m.add_argument("--min-interval", default="0.5", metavar="SECONDS", help="least time between requests (default 0.5)")
    m.set_defaults(func=cmd_fetch_moderngov)
