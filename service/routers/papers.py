"""Papers: the indexed documents, one paper with its text and facts, and meetings."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from service.deps import ENGINE_ERRORS, EngineDep
from service.engine import Engine
from service.errors import ApiError, ErrorCode, error_responses
from service.schemas import DocumentOut, DocumentSummary, Meeting, MeetingItem
from service.settings import STATIC_DIR

router = APIRouter(tags=["papers"])

DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,100}$")


def meeting_facts(engine: Engine, doc_id: str) -> list[dict[str, Any]]:
    """The facts extracted from one paper at index time, in text order, with exact spans."""
    index = engine.index
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
                "item": index.chunks[u.chunks[0]].item,
                "start": u.start,
                "end": u.end,
                "value_start": u.value_start,
                "value_end": u.value_end,
                "url": f"/documents/{doc_id}#{u.start}-{u.end}",
            }
        )
    return sorted(out, key=lambda f: (f["start"], f["role"]))


def summary(engine: Engine, doc_id: str) -> dict[str, Any]:
    doc = engine.index.documents[doc_id]
    meta = doc.meta
    return {
        "id": meta.id,
        "title": meta.title,
        "council": meta.council,
        "body": meta.body,
        "meeting_date": meta.meeting_date,
        "doc_type": meta.doc_type,
        "notes": meta.notes,
        "date_bounds": meta.date_bounds,
        "url": f"/documents/{meta.id}",
        "source_url": meta.source_url,
        "agenda_item": meta.agenda_item,
        "page_count": len(doc.pages),
    }


@router.get("/documents", response_model=list[DocumentSummary], responses=error_responses(*ENGINE_ERRORS))
def documents(engine: EngineDep) -> list[dict[str, Any]]:
    """The indexed papers, in meeting-date order."""
    order = sorted(engine.index.documents.values(), key=lambda d: d.meta.sort_date())
    return [summary(engine, d.meta.id) for d in order]


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentOut,
    responses=error_responses(ErrorCode.DOCUMENT_NOT_FOUND, *ENGINE_ERRORS),
)
def document(doc_id: str, request: Request, response: Response, engine: EngineDep) -> Any:
    """One paper: metadata, the clean text that citation offsets index, and its sections.
    A browser asking for HTML gets the chat page, which opens the paper (permalinks)."""
    if not DOC_ID.match(doc_id) or doc_id not in engine.index.documents:
        raise ApiError(ErrorCode.DOCUMENT_NOT_FOUND, f"no document with id '{doc_id[:100]}' (see GET /documents)")
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers={"Vary": "Accept"})
    response.headers["Vary"] = "Accept"  # the same URL is the page for browsers: caches must tell them apart
    doc = engine.index.documents[doc_id]
    return {
        **summary(engine, doc_id),
        "text": doc.text,
        "sections": [s.__dict__ for s in doc.sections],
        "pages": [{"number": n, "start": s, "end": e} for n, s, e in doc.page_spans()],
        "facts": meeting_facts(engine, doc_id),
    }


@router.get("/meetings", response_model=list[Meeting], responses=error_responses(*ENGINE_ERRORS))
def meetings(engine: EngineDep) -> list[dict[str, Any]]:
    """Meetings (body + date) with their minute/agenda items, in date order."""
    grouped: dict[tuple, dict[str, Any]] = {}
    for doc in sorted(engine.index.documents.values(), key=lambda d: d.meta.sort_date()):
        m = doc.meta
        key = (m.body, m.meeting_date or f"undated:{m.id}")
        entry = grouped.setdefault(
            key,
            {
                "body": m.body,
                "meeting_date": m.meeting_date,
                "date_bounds": m.date_bounds,
                "documents": [],
                "items": [],
            },
        )
        entry["documents"].append(m.id)
        entry.setdefault("facts", []).extend(meeting_facts(engine, m.id))
        for s in doc.sections:
            if s.depth == 1 and s.number:
                entry["items"].append(
                    MeetingItem(
                        number=s.number,
                        title=s.title,
                        start=s.start,
                        end=s.end,
                        url=f"/documents/{m.id}#{s.start}-{s.end}",
                    )
                )
    return list(grouped.values())
