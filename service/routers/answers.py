"""Answers: POST /ask, GET /search and the starter questions of the empty chat."""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.deps import ENGINE_ERRORS, EngineDep, FilterQueryDep, SettingsDep
from service.engine import Engine
from service.errors import ErrorCode, error_responses
from service.schemas import AnswerSpan, AskRequest, AskResponse, SearchResponse
from service.validation import FILTER_ERRORS, HISTORY_ERRORS, QUESTION_ERRORS, check_history, check_question, to_filters

router = APIRouter()

ASK_ERRORS = error_responses(
    ErrorCode.INVALID_JSON, ErrorCode.INVALID_REQUEST, *QUESTION_ERRORS, *HISTORY_ERRORS, *FILTER_ERRORS, *ENGINE_ERRORS
)
SEARCH_ERRORS = error_responses(ErrorCode.INVALID_REQUEST, *QUESTION_ERRORS, *FILTER_ERRORS, *ENGINE_ERRORS)


@router.post("/ask", response_model=AskResponse, responses=ASK_ERRORS, tags=["answers"])
def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep, response: Response) -> AskResponse:
    """Answer a question with verbatim quotes and citations, or abstain."""
    response.headers["X-Index-Version"] = engine.index.version
    question = check_question(body.question, settings)
    history = check_history([(t.role, t.content) for t in body.history], settings)
    filters = to_filters(engine, body.filters)
    result = engine.ask(question, history, filters, top_k=body.top_k or settings.default_top_k, explain=body.explain)
    return AskResponse(
        answer=result.answer,
        abstained=result.abstained,
        confidence=result.confidence,
        query=result.query,
        citations=result.citations,
        related=result.related,
        took_ms=result.took_ms,
        answer_span=AnswerSpan.model_validate(result.answer_span) if result.answer_span is not None else None,
        explain=result.explain,
    )


@router.get("/search", response_model=SearchResponse, responses=SEARCH_ERRORS, tags=["answers"])
def search(
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=2000, description="search text")],
    spec: FilterQueryDep,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResponse:
    """Ranked passages (hybrid retrieval) with the same citation fields as /ask."""
    started = time.perf_counter()
    q = check_question(q, settings)
    results = engine.search(q, k, to_filters(engine, spec))
    return SearchResponse(query=q, results=results, took_ms=round((time.perf_counter() - started) * 1000, 2))


def starter_questions(engine: Engine, limit: int = 4) -> list[str]:
    """Deterministic questions built from what the index holds: ranked table rows ('What score did
    the X get?') and numbered minute items ('What was said about <item>?')."""
    out: list[str] = []
    for chunk in engine.index.chunks:
        headers = {c.header.lower() for c in chunk.cells}
        if chunk.kind == "table_row" and any("score" in h for h in headers) and any("rank" in h for h in headers):
            q = f"What score did the {chunk.row_label} get?"
            if q not in out:
                out.append(q)
        if len(out) >= 2:
            break
    procedural = ("apolog", "minutes", "participation", "declaration", "interest", "welcome")
    items = [
        (doc, re.sub(r"^\d+\.?\s*", "", s.title))
        for doc in engine.index.documents.values()
        for s in doc.sections
        if s.depth == 1 and s.number and not any(p in s.title.lower() for p in procedural)
    ]
    for doc, title in sorted(items, key=lambda x: (-len(x[1].split()), x[1]))[: max(0, limit - len(out))]:
        out.append(f"What was said about {title} at the {doc.meta.body or 'meeting'}?")
    return out[:limit]


# Tagged "papers" in the API docs, where it has always been listed (the docs' grouping is pinned too).
@router.get("/suggestions", tags=["papers"], responses=error_responses(*ENGINE_ERRORS))
def suggestions(engine: EngineDep) -> dict:
    """Starter questions for the empty chat, drawn from the papers' own tables and minute items."""
    return {"questions": starter_questions(engine)}
