"""The fetch run: committees -> meetings in range -> each meeting's papers -> files, manifest, state.

Re-runs are cheap and safe: every call and every paper is requested with the validators seen last
time, so an unchanged site answers 304 throughout; a changed paper is written again (same id and
file) and its manifest entry's sha256 and fetched_at are updated. Nothing fetched before is ever
deleted, even when the site drops it.

A paper's validators are kept only together with bytes we hold: after its file is written, or when
its bytes match the file. So a write that fails, or an answer that is not a paper, is asked for
unconditionally again next time instead of being answered 304 and taken for "unchanged".

The state is saved after every meeting and on any exit; the manifest on exit and at most every
MANIFEST_EVERY seconds, because a round-trip dump is slow (0.2 s for a dozen entries here) and
would make a long run quadratic. A run killed between two manifest saves loses no paper: the state
knows each written file, and the next run puts back any entry that is missing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.moderngov import api, naming
from indexer.moderngov.api import select_committees
from indexer.moderngov.client import HttpError, NotFound, PoliteClient, RequestFailed, Unreachable, Validators
from indexer.moderngov.papers import (
    MINUTES_HTML_SUFFIX,
    MeetingContext,
    Paper,
    linked_paper,
    manifest_entry,
    minutes_html,
    paper_suffix,
    quoted,
)
from indexer.moderngov.store import Manifest, State, atomic_write, sha256

MANIFEST_EVERY = 30.0  # seconds between manifest saves during a run
NOT_THE_DOCUMENT = "the site answered with a web page, not the document (a login or error page?)"


class UsageError(Exception):
    """The request cannot be met as asked (e.g. no such committee); exit code 2."""


class FetchAborted(Exception):
    """The site could not be used at all (unreachable, refused, not a ModernGov web service); exit code 1."""


@dataclass(frozen=True)
class Options:
    base_url: str
    corpus: Path
    since: dt.date
    until: dt.date
    committees: tuple[str, ...] = ()
    council: str | None = None


@dataclass(frozen=True)
class Outcome:
    kind: str  # added | updated | unchanged | skipped | failed
    label: str
    reason: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == "failed"]


# Called with (meetings done, meetings in all, what is being done); the CLI draws it as a progress bar.
Progress = Callable[[int, int, str], None]


class Fetcher:
    def __init__(self, opts: Options, client: PoliteClient, progress: Progress | None = None) -> None:
        self.opts, self.client, self.progress = opts, client, progress
        self.council, self.council_note = naming.council_name(opts.council, opts.base_url)
        self.manifest = Manifest(opts.corpus)  # read first: an unreadable manifest stops the run before any request
        self.state = State(opts.corpus)
        self.report = Report()
        self._manifest_changed = False
        self._manifest_saved = time.monotonic()
        self._seen: set[str] = set()
        self._down: str | None = None  # why the site stopped answering; later requests are not attempted

    # -- web-service calls -------------------------------------------------------------------------

    def _call(self, url: str, parse: Callable[[bytes], object]) -> object:
        """A web-service call, conditional when its last answer is cached; parsed before it is cached."""
        cached = self.state.cached_body(url)
        prior = self.state.get(url)
        validators = Validators(prior.get("etag"), prior.get("last_modified")) if cached is not None else None
        fetched = self.client.get(url, validators)
        if fetched.status == 304 and cached is not None:
            return parse(cached)
        parsed = parse(fetched.content)
        self.state.cache_body(url, fetched.content)
        self.state.put(url, etag=fetched.validators.etag, last_modified=fetched.validators.last_modified)
        return parsed

    def committees(self) -> list[api.Committee]:
        try:
            found = self._call(api.committees_url(self.opts.base_url), api.parse_committees)
        except Unreachable as exc:
            raise FetchAborted(f"cannot reach {self.opts.base_url} ({exc})") from None
        except RequestFailed as exc:
            raise FetchAborted(f"{exc}: is {self.opts.base_url} a ModernGov site with its web service on?") from None
        except HttpError as exc:
            hint = " (some councils block automated clients)" if exc.status == 403 else ""
            question = f"is {self.opts.base_url} a ModernGov site with its web service on?"
            raise FetchAborted(f"{exc}: {question}{hint}") from None
        except api.ResponseError as exc:
            raise FetchAborted(f"{exc}: is {self.opts.base_url} a ModernGov site?") from None
        assert isinstance(found, list)
        try:
            return select_committees(found, self.opts.committees)
        except LookupError as exc:
            raise UsageError(str(exc)) from None

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> Report:
        try:
            plan: list[tuple[api.Committee, api.MeetingStub]] = []
            for committee in self.committees():
                plan += [(committee, stub) for stub in self._meetings(committee)]
            for done, (committee, stub) in enumerate(plan):
                if self.progress:
                    when = stub.date.isoformat() if stub.date else "undated"
                    self.progress(done, len(plan), f"{committee.title} {when}")
                self._meeting(committee, stub)
                self.flush(final=False)
            if self.progress:
                self.progress(len(plan), len(plan), "done")
        finally:
            self.flush()
            self.report.requests, self.report.bytes_received = self.client.requests, self.client.bytes_received
        return self.report

    def flush(self, final: bool = True) -> None:
        due = final or time.monotonic() - self._manifest_saved >= MANIFEST_EVERY
        if self._manifest_changed and due:
            self.manifest.save()
            self._manifest_changed = False
            self._manifest_saved = time.monotonic()
        if self.state.dirty:
            self.state.save()

    def _fail(self, label: str, exc: Exception) -> None:
        reason = "HTTP 404 (not on the site)" if isinstance(exc, NotFound) else str(exc)
        if isinstance(exc, Unreachable):
            self._down = str(exc)  # all retries spent: asking again for every remaining paper would not help
        self.report.outcomes.append(Outcome("failed", label, reason))

    def _skip_if_down(self, label: str) -> bool:
        if self._down:
            why = f"not tried: the site stopped answering ({self._down})"
            self.report.outcomes.append(Outcome("failed", label, why))
        return self._down is not None

    def _meetings(self, committee: api.Committee) -> list[api.MeetingStub]:
        url = api.meetings_url(self.opts.base_url, committee.id, self.opts.since, self.opts.until)
        if self._skip_if_down(f"meetings of {committee.title}"):
            return []
        try:
            stubs = self._call(url, api.parse_meetings)
        except (HttpError, Unreachable, RequestFailed, api.ResponseError) as exc:
            self._fail(f"meetings of {committee.title}", exc)
            return []
        assert isinstance(stubs, list)
        # Filtered here as well: one report says some sites ignore sFromDate/sToDate.
        inside = [s for s in stubs if s.date and self.opts.since <= s.date <= self.opts.until]
        for stub in stubs:
            if stub.date is None:
                label = f"{committee.title} meeting {stub.id}"
                self.report.outcomes.append(Outcome("skipped", label, "no dd/mm/yyyy meetingdate; cannot place it"))
        return sorted(inside, key=lambda s: (s.date or dt.date.min, s.id))

    def _meeting(self, committee: api.Committee, stub: api.MeetingStub) -> None:
        url = api.meeting_url(self.opts.base_url, stub.id)
        if self._skip_if_down(f"{committee.title} meeting {stub.id}"):
            return
        try:
            meeting = self._call(url, api.parse_meeting)
        except (HttpError, Unreachable, RequestFailed, api.ResponseError) as exc:
            self._fail(f"{committee.title} meeting {stub.id}", exc)
            return
        assert isinstance(meeting, api.Meeting)
        ctx = MeetingContext(self.opts.base_url, self.council, self.council_note, committee, stub, meeting, url)
        html_minutes = minutes_html(ctx)
        if html_minutes:
            self._paper(ctx, html_minutes)
        for item in meeting.items:
            for doc in item.documents:
                if doc.restricted:
                    self.report.outcomes.append(Outcome("skipped", doc.title or doc.url, "restricted (not public)"))
                    continue
                paper = linked_paper(ctx, item, doc)
                held = self.state.html_minutes.get(committee.id, [])
                if paper.doc_type == "minutes" and paper.title_date and paper.title_date.isoformat() in held:
                    why = f"minutes of {paper.title_date.isoformat()} already held as HTML"
                    self.report.outcomes.append(Outcome("skipped", paper.title, why))
                    continue
                self._paper(ctx, paper)

    # -- one paper ---------------------------------------------------------------------------------

    def _paper(self, ctx: MeetingContext, paper: Paper) -> None:
        if paper.key in self._seen:  # the same paper linked again (another item or meeting): once is enough
            return
        self._seen.add(paper.key)
        prior = self.state.get(paper.key) or self._adopt(paper)
        on_disk = self._file_sha(prior["file"]) if prior.get("file") else None
        file_ok = on_disk is not None and on_disk == prior.get("sha256")
        if paper.content is not None:
            content, validators, content_type = paper.content, Validators(), "text/html"
        else:
            if self._skip_if_down(paper.title):
                return
            asked = Validators(prior.get("etag"), prior.get("last_modified")) if file_ok else None
            try:
                fetched = self.client.get(paper.key, asked)
            except (HttpError, Unreachable, RequestFailed) as exc:
                self._fail(paper.title, exc)
                return
            content, validators, content_type = fetched.content, fetched.validators, fetched.content_type
            if fetched.status == 304:
                if file_ok:
                    self._unchanged(ctx, paper, prior, validators)
                else:
                    self.report.outcomes.append(Outcome("failed", paper.title, "HTTP 304 to an unconditional request"))
                return
        # From here on the validators are stored only with bytes we hold (see the module docstring).
        suffix = paper_suffix(content)
        if suffix is None:
            why = f"not a PDF, Word .docx or HTML paper ({content_type or 'no content type'}); not added"
            self.report.outcomes.append(Outcome("failed", paper.title, why))
            return
        if suffix == ".html" and not paper.html_ok:
            self.report.outcomes.append(Outcome("failed", paper.title, NOT_THE_DOCUMENT))
            return
        digest = sha256(content)
        if file_ok and digest == prior["sha256"]:
            self._unchanged(ctx, paper, prior, validators)
            return
        if prior.get("file") and not str(prior["file"]).endswith(suffix):
            self.report.outcomes.append(Outcome("failed", paper.title, f"now {suffix}, was {prior['file']}; kept that"))
            return
        doc_id, file = (prior["id"], prior["file"]) if prior.get("file") else self._new_name(ctx, paper, suffix)
        atomic_write(self.opts.corpus / file, content)
        fetched_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        self.state.put(
            paper.key,
            sha256=digest,
            file=file,
            id=doc_id,
            fetched_at=fetched_at,
            etag=validators.etag,
            last_modified=validators.last_modified,
        )
        entry = self.manifest.find("file", file)  # by file: unique in a valid manifest, even if the id was edited
        if entry is not None:
            entry["sha256"], entry["fetched_at"] = digest, quoted(fetched_at)  # hand edits to other keys stay
        else:
            self.manifest.add(manifest_entry(paper, ctx, doc_id, file, digest, fetched_at))
        self._manifest_changed = True
        self._held_as_html(ctx, paper)
        self.report.outcomes.append(Outcome("updated" if on_disk is not None else "added", doc_id))

    def _adopt(self, paper: Paper) -> dict[str, str]:
        """No state for this paper (state file lost or unreadable): take over a manifest entry with its
        source_url, if any, so the paper keeps its id and file instead of arriving a second time as '-2'.
        What is adopted goes into the state once the paper is confirmed (_unchanged) or rewritten.

        Composed minutes written before their source_url became the meeting's page (0.4.0) have the
        GetMeeting URL there instead; that is tried second."""
        legacy = paper.key.removesuffix(MINUTES_HTML_SUFFIX)
        entry = self.manifest.find("source_url", paper.source_url) or (
            self.manifest.find("source_url", legacy) if legacy != paper.key else None
        )
        digest = self._file_sha(str(entry.get("file"))) if entry is not None else None
        if entry is None or digest is None:
            return {}
        when = str(entry.get("fetched_at") or "")
        return {"id": str(entry["id"]), "file": str(entry["file"]), "sha256": digest, "fetched_at": when}

    def _unchanged(self, ctx: MeetingContext, paper: Paper, prior: dict[str, str], validators: Validators) -> None:
        """Nothing new: the file holds these bytes. The state records that, with the validators that go
        with them (which also keeps a paper adopted from the manifest); and a manifest entry removed by
        hand (the file is still there) is put back."""
        self.state.put(
            paper.key,
            sha256=prior["sha256"],
            file=prior["file"],
            id=prior["id"],
            fetched_at=prior.get("fetched_at") or "",
            etag=validators.etag,
            last_modified=validators.last_modified,
        )
        if self.manifest.find("file", prior["file"]) is None:
            when = prior.get("fetched_at") or ""
            self.manifest.add(manifest_entry(paper, ctx, prior["id"], prior["file"], prior["sha256"], when))
            self._manifest_changed = True
        self._held_as_html(ctx, paper)
        self.report.outcomes.append(Outcome("unchanged", prior["id"]))

    def _held_as_html(self, ctx: MeetingContext, paper: Paper) -> None:
        if paper.key.endswith(MINUTES_HTML_SUFFIX) and paper.meeting_date:
            held = self.state.html_minutes.setdefault(ctx.committee.id, [])
            if paper.meeting_date.isoformat() not in held:
                held.append(paper.meeting_date.isoformat())
                self.state.dirty = True

    def _file_sha(self, file: str) -> str | None:
        try:
            return sha256((self.opts.corpus / file).read_bytes())
        except OSError:
            return None

    def _new_name(self, ctx: MeetingContext, paper: Paper, suffix: str) -> tuple[str, str]:
        """A fresh id and file name; '-2', '-3' … only if a hand-written entry already uses the name.

        A file with the name but no manifest entry and no state is what an interrupted run leaves
        (killed between writing the file and recording it), so it is taken over, not avoided.
        """
        date = paper.meeting_date.isoformat() if paper.meeting_date else None
        base = naming.document_id(self.council, ctx.committee.title, date, paper.doc_type, paper.doc_key)
        ids, files = self.manifest.taken()
        known = {str(v.get("file")) for v in self.state.urls.values() if v.get("file")}
        n, doc_id = 1, base
        while doc_id in ids or doc_id + suffix in files or doc_id + suffix in known:
            n += 1
            doc_id = f"{base[: naming.MAX_ID - len(str(n)) - 1]}-{n}"
        return doc_id, doc_id + suffix
