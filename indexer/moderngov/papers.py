"""From one meeting's GetMeeting record to the papers to fetch, and their manifest entries.

A meeting gives:
* its own minutes as HTML, when GetMeeting carries the minute text of its items
  (`minutesnonemptyhtmlbody`, as LGSF's ModGovMinutesScraper.save_minutes_html reads it): the
  site's own words, and HTML needs no PDF extraction, so this is preferred to a minutes PDF;
* every public document linked from its agenda items (`linkeddoc`): reports, agenda packs and the
  minutes PDFs that ModernGov usually attaches to the *next* meeting's "Minutes" item (a public
  project's notes on GetMeeting: "A meeting's minutes PDF is usually attached to the 'Minutes'
  item of the NEXT meeting of the same body ... and sometimes to the meeting itself"). Those minutes
  therefore get `meeting_date: null` and only an upper bound, unless their title names this
  meeting's own date.

A composed minutes paper has no file of its own on the site, so its `source_url` is the meeting's
public page, `ieListDocuments.aspx?CId=<committee>&MId=<meeting>`, where the site shows those minutes;
the GetMeeting call it was composed from is named in its notes.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from indexer.moderngov import naming
from indexer.moderngov.api import AgendaItem, Committee, LinkedDoc, Meeting, MeetingStub, meeting_page_url

MINUTES_HTML_SUFFIX = "#minutes-html"  # state key of a composed minutes paper: the GetMeeting URL + this


@dataclass
class Paper:
    """One paper to bring into the corpus, with everything its manifest entry says except the file facts."""

    key: str  # the URL it is fetched from (for composed minutes: GetMeeting URL + MINUTES_HTML_SUFFIX)
    source_url: str  # the council's own copy: the document's URL, or the meeting's page for composed minutes
    doc_key: str  # the site's id for it: attachment id, or m<meeting id>
    title: str
    doc_type: str
    meeting_date: dt.date | None
    date_before: dt.date | None = None
    agenda_item: dict[str, str] | None = None
    notes: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # set for composed papers, which need no download
    title_date: dt.date | None = None  # a date named in a minutes title (to recognise minutes held as HTML)
    html_ok: bool = False  # an HTML answer is the paper (see html_expected), not a login or error page


@dataclass(frozen=True)
class MeetingContext:
    base_url: str
    council: str
    council_note: str
    committee: Committee
    stub: MeetingStub
    meeting: Meeting
    meeting_url: str

    @property
    def date(self) -> dt.date | None:
        return self.meeting.date or self.stub.date

    @property
    def date_note(self) -> str:
        if self.meeting.date:
            return f"from ModernGov GetMeeting meetingdate (meeting {self.meeting.id or self.stub.id})"
        if self.stub.date:
            return f"from ModernGov GetMeetings meetingdate (GetMeeting gave '{self.meeting.raw_date}')"
        return "null: neither GetMeetings nor GetMeeting gives a dd/mm/yyyy meetingdate"

    def agenda_items(self) -> list[dict[str, str]]:
        return [{"number": i.number, "title": i.title} for i in self.meeting.items if i.title]


def quoted(text: str) -> DoubleQuotedScalarString:
    """A string written in double quotes, as the manifest writes dates (so YAML never turns it into a date)."""
    return DoubleQuotedScalarString(text)


def _item_ref(item: AgendaItem) -> dict[str, str]:
    return {"number": item.number, "title": item.title}


def minutes_html(ctx: MeetingContext) -> Paper | None:
    """The meeting's minutes composed from GetMeeting's per-item minute text, or None if none is published."""
    items = [i for i in ctx.meeting.items if i.minutes_html.strip()]
    if not items:
        return None
    when = naming.long_date(ctx.date) if ctx.date else "date not stated"
    title = f"{ctx.committee.title} minutes, {when}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for item in items:
        number = item.minutes_number or item.number
        heading = f"{number}. {item.title}" if number else item.title
        parts += [f"<h2>{html.escape(heading)}</h2>", item.minutes_html]
    parts.append("</body></html>\n")
    meeting_id = ctx.meeting.id or ctx.stub.id
    return Paper(
        key=ctx.meeting_url + MINUTES_HTML_SUFFIX,
        source_url=meeting_page_url(ctx.base_url, ctx.committee.id, meeting_id),
        doc_key=f"m{meeting_id}",
        title=title,
        doc_type="minutes",
        meeting_date=ctx.date,
        notes={
            "title": "composed: committee title, 'minutes', meeting date",
            "doc_type": "minutes: GetMeeting publishes the minute text of each agenda item (minutesnonemptyhtmlbody); "
            "written as one HTML paper, item headings numbered by minutesitemnumber",
            "source_url": "the meeting's page on the site (ieListDocuments.aspx, the standard ModernGov address "
            f"from the committee and meeting ids), which shows these minutes; composed from {ctx.meeting_url}",
        },
        content="\n".join(parts).encode("utf-8"),
        html_ok=True,
    )


def linked_paper(ctx: MeetingContext, item: AgendaItem, doc: LinkedDoc) -> Paper:
    """A document linked from an agenda item, typed by its title and the item's title."""
    doc_type = naming.classify(doc.title, item.title)
    title = doc.title or f"{item.title or 'Document'} ({doc.attachment_id or 'no id'})"
    notes = {
        "title": "from the ModernGov linked document title" if doc.title else "none on the site; made from the item",
        "doc_type": f"{doc_type}: from the linked document title '{doc.title}' and agenda item '{item.title}'",
    }
    paper = Paper(
        key=doc.url,
        source_url=doc.url,
        doc_key=doc.attachment_id or naming.slug(doc.url)[-24:],
        title=title,
        doc_type=doc_type,
        meeting_date=ctx.date,
        notes=notes,
        html_ok=html_expected(doc.url),
    )
    if doc_type == "report":
        paper.agenda_item = _item_ref(item)
        notes["agenda_item"] = "the GetMeeting agenda item this document is linked from"
    if doc_type == "minutes":
        paper.title_date = naming.date_in_title(doc.title)
        if ctx.date and paper.title_date == ctx.date:
            notes["meeting_date"] = ctx.date_note + "; the minutes' title names the same date"
        else:
            paper.meeting_date = None
            paper.date_before = ctx.date
            named = f"; the title names {paper.title_date.isoformat()}" if paper.title_date else ""
            where = ctx.date.isoformat() if ctx.date else "an undated meeting"
            notes["meeting_date"] = (
                f"null: minutes linked from agenda item '{item.title}' of the meeting of {where} "
                f"(meeting {ctx.stub.id}); ModernGov usually attaches the previous meeting's minutes there, "
                f"so the record does not say which meeting they record{named}"
            )
            if ctx.date:
                notes["date_bounds"] = "before: the date of the meeting these minutes are linked from (on or before)"
    return paper


def manifest_entry(
    paper: Paper, ctx: MeetingContext, doc_id: str, file: str, digest: str, fetched_at: str
) -> dict[str, Any]:
    """The manifest entry for a paper, keys in the order the existing manifest uses."""
    notes = {
        "council": ctx.council_note,
        "body": f"from ModernGov GetCommittees committeetitle (committee {ctx.committee.id})",
        "meeting_date": ctx.date_note,
        "agenda_items": "from GetMeeting agendaitems: number = fulldisplaynumberformat (the printed number), "
        "else agendaitemnumber",
        **paper.notes,
    }
    entry: dict[str, Any] = {
        "id": doc_id,
        "file": file,
        "title": paper.title,
        "council": ctx.council,
        "body": ctx.committee.title,
        "meeting_date": quoted(paper.meeting_date.isoformat()) if paper.meeting_date else None,
        "doc_type": paper.doc_type,
    }
    if paper.date_before:
        entry["date_bounds"] = {"before": quoted(paper.date_before.isoformat())}
    entry.update(
        {
            "source_url": paper.source_url,
            "fetched_at": quoted(fetched_at),
            "sha256": digest,
            "agenda_items": ctx.agenda_items(),
        }
    )
    if paper.agenda_item:
        entry["agenda_item"] = paper.agenda_item
    entry["notes"] = notes
    return entry


def html_expected(url: str) -> bool:
    """Whether a linked document may answer with HTML: only a link to a web page (path ending .htm/.html).

    Documents are files: ModernGov links them through mgConvert2PDF.aspx or as /documents/…/<name>.pdf.
    An HTML answer there is the site's login, error or "document not found" page served with a 200,
    and adding it as a paper would put that page's text into the corpus.
    """
    return urlsplit(url).path.lower().endswith((".htm", ".html"))


def paper_suffix(content: bytes) -> str | None:
    """'.pdf', '.docx' or '.html' from the bytes themselves (the types the corpus reads), else None.

    The sniff only says what the bytes are; whether HTML is acceptable for a given link is
    html_expected's call (Paper.html_ok).

    ModernGov serves papers through mgConvert2PDF.aspx, whose URL has no extension (LGSF
    document_extension), and a content type is not always right, so the bytes decide.
    """
    head = content[:1024].lstrip().lower()
    if head.startswith(b"%pdf"):
        return ".pdf"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                return ".docx" if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return ".html"
    return None
