"""Meetings: the papers of one body on one date, grouped, with a stable id, their items, and the
meeting facts the indexer extracted (`indexer/facts.py`) split into attendance, apologies and
decisions. Served by `GET /meetings`, `GET /meetings/{id}` and used by the topic history.

A meeting is (body, meeting date); a paper whose date is unknown is a meeting of its own (its
`date_bounds` only place it in order). Ids are URL-safe and stable across index builds as long as
the manifest's body and date (or, undated, the paper id) stay the same:
`children-and-families-overview-and-scrutiny-panel-2018-03-22`, `cabinet-undated-web-minutes`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from indexer.models import Section
from service.index import LoadedIndex

MEETING_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,250}$")
# Fact roles as indexer/facts.py and indexer/data/genre.yaml name them.
DECISION_ROLES = frozenset({"resolution", "resolutions"})
CHAIR_ROLES = frozenset({"chair", "vice_chair"})
ATTENDANCE_ROLES = frozenset({"present", "also_attended"})
APOLOGY_ROLES = frozenset({"apologies"})


@dataclass
class MeetingRecord:
    """One meeting: who met when, and its papers in date order."""

    id: str
    body: str | None
    meeting_date: str | None
    date_bounds: dict[str, str] | None
    documents: list[str] = field(default_factory=list)

    @property
    def undated(self) -> bool:
        return self.meeting_date is None

    @property
    def order_date(self) -> str | None:
        return order_date(self.meeting_date, self.date_bounds)

    @property
    def url(self) -> str:
        return f"/meetings/{self.id}"


def slug(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:120]


def meeting_id(body: str | None, meeting_date: str | None, doc_id: str) -> str:
    who = slug(body) or "unknown-body"
    return f"{who}-{meeting_date}" if meeting_date else f"{who}-undated-{doc_id}"


def order_date(meeting_date: str | None, date_bounds: dict[str, str] | None) -> str | None:
    """The date a meeting is ordered by: its own date, else the midpoint of the dates the papers
    prove it lies between (one bound alone when only one is known), else None (ordered last)."""
    if meeting_date:
        return meeting_date
    after, before = (date_bounds or {}).get("after"), (date_bounds or {}).get("before")
    if after and before:
        a, b = dt.date.fromisoformat(after), dt.date.fromisoformat(before)
        return (a + (b - a) / 2).isoformat()
    return after or before or None


def group_meetings(index: LoadedIndex) -> list[MeetingRecord]:
    """Every meeting of the index, in date order (undated ones by their bounds' midpoint)."""
    grouped: dict[str, MeetingRecord] = {}
    for doc in sorted(index.documents.values(), key=lambda d: (d.meta.sort_date(), d.meta.id)):
        m = doc.meta
        mid = meeting_id(m.body, m.meeting_date, m.id)
        record = grouped.setdefault(mid, MeetingRecord(mid, m.body, m.meeting_date, m.date_bounds))
        record.documents.append(m.id)
    return sorted(grouped.values(), key=lambda r: (r.order_date or "9999-12-31", r.id))


def meeting_of_documents(index: LoadedIndex) -> dict[str, MeetingRecord]:
    """Document id → its meeting."""
    return {doc_id: record for record in group_meetings(index) for doc_id in record.documents}


def document_facts(index: LoadedIndex, doc_id: str) -> list[dict[str, Any]]:
    """The facts extracted from one paper at index time, in text order, with exact spans."""
    text = index.documents[doc_id].text
    out = []
    for row in index.doc_facts.get(doc_id, []):
        u = index.units[row]
        out.append(
            {
                "role": u.role,
                "label": u.label,
                "value": text[u.value_start : u.value_end],
                "document_id": doc_id,
                "item": index.chunks[u.chunks[0]].item if u.chunks else None,
                "start": u.start,
                "end": u.end,
                "value_start": u.value_start,
                "value_end": u.value_end,
                "url": f"/documents/{doc_id}#{u.start}-{u.end}",
            }
        )
    return sorted(out, key=lambda f: (f["start"], f["role"] or ""))


def decisions_within(facts: list[dict[str, Any]], doc_id: str, start: int, end: int) -> list[dict[str, Any]]:
    """The decision facts of `doc_id` whose quoted span lies inside [start, end)."""
    return [
        f
        for f in facts
        if f["role"] in DECISION_ROLES and f["document_id"] == doc_id and start <= f["start"] and f["end"] <= end
    ]


def item_sections(sections: list[Section]) -> list[Section]:
    """A paper's minute / agenda items: its numbered top-level headings."""
    return [s for s in sections if s.depth == 1 and s.number]


def section_at(sections: list[Section], start: int, end: int, number: str | None) -> Section | None:
    """The innermost section holding [start, end), preferring the one numbered `number` (the
    item a chunk carries), so a passage is placed under its minute rather than a sub-heading."""
    holding = [s for s in sections if s.start <= start and end <= s.end]
    numbered = [s for s in holding if number and s.number == number]
    pool = numbered or holding
    return min(pool, key=lambda s: s.end - s.start) if pool else None


def meeting_items(index: LoadedIndex, record: MeetingRecord, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    for doc_id in record.documents:
        for s in item_sections(index.documents[doc_id].sections):
            items.append(
                {
                    "number": s.number,
                    "title": s.title,
                    "document_id": doc_id,
                    "start": s.start,
                    "end": s.end,
                    "url": f"/documents/{doc_id}#{s.start}-{s.end}",
                    "decisions": decisions_within(facts, doc_id, s.start, s.end),
                }
            )
    return items


def meeting_summary(index: LoadedIndex, record: MeetingRecord) -> dict[str, Any]:
    """A meeting as `GET /meetings` lists it."""
    facts = [f for doc_id in record.documents for f in document_facts(index, doc_id)]
    return {
        "id": record.id,
        "url": record.url,
        "body": record.body,
        "meeting_date": record.meeting_date,
        "date_bounds": record.date_bounds,
        "undated": record.undated,
        "order_date": record.order_date,
        "documents": list(record.documents),
        "items": meeting_items(index, record, facts),
        "facts": facts,
    }


def meeting_page(index: LoadedIndex, record: MeetingRecord) -> dict[str, Any]:
    """A meeting as `GET /meetings/{id}` shows it: the summary with the chair, attendance,
    apologies and decisions split out of the facts, and each of its papers."""
    out = meeting_summary(index, record)
    facts = out["facts"]
    out["chair"] = [f for f in facts if f["role"] in CHAIR_ROLES]
    out["attendance"] = [f for f in facts if f["role"] in ATTENDANCE_ROLES]
    out["apologies"] = [f for f in facts if f["role"] in APOLOGY_ROLES]
    out["decisions"] = [f for f in facts if f["role"] in DECISION_ROLES]
    out["papers"] = [
        {
            "id": doc_id,
            "title": index.documents[doc_id].meta.title,
            "doc_type": index.documents[doc_id].meta.doc_type,
            "url": f"/documents/{doc_id}",
        }
        for doc_id in record.documents
    ]
    return out


def find_meeting(index: LoadedIndex, mid: str) -> MeetingRecord | None:
    if not MEETING_ID.match(mid):
        return None
    return next((r for r in group_meetings(index) if r.id == mid), None)
