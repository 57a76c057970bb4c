"""Papers: the indexed documents, one paper with its text and facts, meetings, one meeting's page,
and a topic's history across meetings."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from service.deps import ENGINE_ERRORS, EngineDep, FilterQueryDep, SettingsDep
from service.engine import Engine
from service.errors import ApiError, ErrorCode, error_responses
from service.history import topic_history
from service.meetings import document_facts, find_meeting, group_meetings, meeting_page, meeting_summary
from service.schemas import (
    DocumentOut,
    DocumentSummary,
    HistoryMeeting,
    HistoryResponse,
    Meeting,
    MeetingPage,
)
from service.settings import STATIC_DIR
from service.validation import FILTER_ERRORS, QUESTION_ERRORS, check_question, to_filters

router = APIRouter(tags=["papers"])

DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,100}$")


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _page() -> FileResponse:
    """The chat page, which reads the URL and opens the paper, meeting or history it names (permalinks)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers={"Vary": "Accept"})


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
    if _wants_html(request):
        return _page()
    response.headers["Vary"] = "Accept"  # the same URL is the page for browsers: caches must tell them apart
    doc = engine.index.documents[doc_id]
    return {
        **summary(engine, doc_id),
        "text": doc.text,
        "sections": [s.__dict__ for s in doc.sections],
        "pages": [{"number": n, "start": s, "end": e} for n, s, e in doc.page_spans()],
        "facts": document_facts(engine.index, doc_id),
    }


@router.get("/meetings", response_model=list[Meeting], responses=error_responses(*ENGINE_ERRORS))
def meetings(engine: EngineDep) -> list[dict[str, Any]]:
    """Meetings (body + date) with their minute/agenda items, in date order."""
    return [meeting_summary(engine.index, record) for record in group_meetings(engine.index)]


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingPage,
    responses=error_responses(ErrorCode.MEETING_NOT_FOUND, *ENGINE_ERRORS),
)
def meeting(meeting_id: str, request: Request, response: Response, engine: EngineDep) -> Any:
    """One meeting: body, date, chair, attendance, apologies, items with their decisions, and its
    papers. A browser asking for HTML gets the chat page, which opens the meeting."""
    record = find_meeting(engine.index, meeting_id)
    if record is None:
        raise ApiError(ErrorCode.MEETING_NOT_FOUND, f"no meeting with id '{meeting_id[:100]}' (see GET /meetings)")
    if _wants_html(request):
        return _page()
    response.headers["Vary"] = "Accept"
    return meeting_page(engine.index, record)


@router.get(
    "/history",
    response_model=HistoryResponse,
    responses=error_responses(ErrorCode.INVALID_REQUEST, *QUESTION_ERRORS, *FILTER_ERRORS, *ENGINE_ERRORS),
)
def history(
    request: Request,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    spec: FilterQueryDep,
    q: Annotated[str, Query(max_length=2000, description="the topic, e.g. VAT liability (required)")] = "",
) -> Any:
    """Every meeting whose papers discuss the topic, in date order, each with the best one or two
    sentences quoted (citations as in answers), its minute/item and the decisions recorded there.
    Filters as GET /search. A browser asking for HTML gets the chat page, which opens the history."""
    if _wants_html(request):
        return _page()
    response.headers["Vary"] = "Accept"
    started = time.perf_counter()
    topic = check_question(q, settings, subject="topic")
    found = topic_history(engine, topic, to_filters(engine, spec))
    return HistoryResponse(
        query=topic,
        meetings=[HistoryMeeting.model_validate(dataclasses.asdict(m)) for m in found],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
