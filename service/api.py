"""FastAPI app: JSON API, the web chat page and the OpenAI-compatible endpoint."""
from __future__ import annotations

import datetime as dt
import hmac
import re
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from indexer.embed import Embedder, load_embedder
from indexer.store import IndexLoadError
from service.engine import Engine
from service.errors import ApiError, ErrorCode, install_error_handlers, render
from service.schemas import (AskRequest, AskResponse, DocumentOut, DocumentSummary, ErrorResponse, FilterSpec,
                             Meeting, MeetingItem, SearchResponse)
from service.settings import Settings, get_settings
from service.state import EngineHolder
from service.validation import check_history, check_question, to_filters

STATIC_DIR = Path(__file__).with_name("static")
DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,100}$")
ERRORS = {s: {"model": ErrorResponse} for s in (400, 404, 413, 422, 503)}

SECURITY_HEADERS = {
    # Only the app's own scripts and styles run; nothing a paper contains can execute.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def get_holder(request: Request) -> EngineHolder:
    return request.app.state.holder


def get_engine(holder: Annotated[EngineHolder, Depends(get_holder)]) -> Engine:
    engine = holder.engine  # one reference for the whole request
    if engine is None:
        raise ApiError(ErrorCode.INDEX_UNAVAILABLE, f"the index is not loaded: {holder.error}")
    return engine


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


def meeting_facts(engine: Engine, doc_id: str) -> list[dict]:
    """The facts extracted from one paper at index time, in text order, with exact spans."""
    index = engine.index
    text = index.documents[doc_id].text
    out = []
    for row in index.doc_facts.get(doc_id, []):
        u = index.units[row]
        out.append({"role": u.role, "label": u.label, "value": text[u.value_start:u.value_end],
                    "document_id": doc_id, "item": index.chunks[u.chunks[0]].item, "start": u.start, "end": u.end,
                    "value_start": u.value_start, "value_end": u.value_end, "url": f"/documents/{doc_id}#{u.start}-{u.end}"})
    return sorted(out, key=lambda f: (f["start"], f["role"]))


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
    items = [(doc, re.sub(r"^\d+\.?\s*", "", s.title)) for doc in engine.index.documents.values()
             for s in doc.sections if s.depth == 1 and s.number and not any(p in s.title.lower() for p in procedural)]
    for doc, title in sorted(items, key=lambda x: (-len(x[1].split()), x[1]))[: max(0, limit - len(out))]:
        out.append(f"What was said about {title} at the {doc.meta.body or 'meeting'}?")
    return out[:limit]


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "holder", None) is not None:  # already loaded by the caller (tests, tools)
            yield
            return
        import torch

        torch.set_num_threads(settings.torch_threads)
        holder = EngineHolder(settings.index_dir, embedder or load_embedder(settings.model), settings.query_cache_size)
        app.state.holder = holder
        try:
            holder.load()
        except IndexLoadError as exc:
            if not settings.start_without_index:
                raise SystemExit(f"minutes-qa: cannot start: {exc}") from None
        yield

    app = FastAPI(title="minutes-qa", version="0.1.0", lifespan=lifespan,
                  description="Extractive question answering over council meeting papers, with exact citations.")
    app.state.settings = settings
    install_error_handlers(app)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization"])

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next):
        limit = settings.max_request_bytes
        too_large = ApiError(ErrorCode.REQUEST_TOO_LARGE, f"the request body is over {limit} bytes")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_request_bytes):
            response = render(request, too_large)
        elif length is None and request.method in ("POST", "PUT", "PATCH") and request.headers.get("transfer-encoding"):
            body = b""
            async for part in request.stream():
                body += part
                if len(body) > settings.max_request_bytes:
                    break
            if len(body) > settings.max_request_bytes:
                response = render(request, too_large)
            else:
                request._body = body  # replay the body we already read
                response = await call_next(request)
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.post("/ask", response_model=AskResponse, responses=ERRORS, tags=["answers"])
    def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep, response: Response) -> AskResponse:
        """Answer a question with verbatim quotes and citations, or abstain."""
        response.headers["X-Index-Version"] = engine.index.version
        question = check_question(body.question, settings)
        history = check_history([(t.role, t.content) for t in body.history], settings)
        filters = to_filters(engine, body.filters)
        result = engine.ask(question, history, filters, top_k=body.top_k or settings.default_top_k,
                            explain=body.explain)
        return AskResponse(answer=result.answer, abstained=result.abstained, confidence=result.confidence,
                           query=result.query, citations=result.citations, related=result.related,
                           took_ms=result.took_ms, answer_span=result.answer_span, explain=result.explain)

    @app.get("/search", response_model=SearchResponse, responses=ERRORS, tags=["answers"])
    def search(engine: EngineDep, settings: SettingsDep,
               q: Annotated[str, Query(max_length=2000, description="search text")],
               k: Annotated[int, Query(ge=1, le=50)] = 10,
               document_id: Annotated[list[str] | None, Query()] = None,
               body: Annotated[list[str] | None, Query()] = None,
               doc_type: Annotated[list[Literal["minutes", "agenda", "report"]] | None, Query()] = None,
               date_from: dt.date | None = None, date_to: dt.date | None = None) -> SearchResponse:
        """Ranked passages (hybrid retrieval) with the same citation fields as /ask."""
        started = time.perf_counter()
        q = check_question(q, settings)
        spec = FilterSpec(document_id=document_id, body=body, doc_type=doc_type, date_from=date_from, date_to=date_to)
        results = engine.search(q, k, to_filters(engine, spec))
        return SearchResponse(query=q, results=results,
                              took_ms=round((time.perf_counter() - started) * 1000, 2))

    def summary(engine: Engine, doc_id: str) -> dict:
        meta = engine.index.documents[doc_id].meta
        return {"id": meta.id, "title": meta.title, "council": meta.council, "body": meta.body,
                "meeting_date": meta.meeting_date, "doc_type": meta.doc_type, "notes": meta.notes,
                "date_bounds": meta.date_bounds, "url": f"/documents/{meta.id}"}

    @app.get("/documents", response_model=list[DocumentSummary], tags=["papers"])
    def documents(engine: EngineDep) -> list[dict]:
        """The indexed papers, in meeting-date order."""
        order = sorted(engine.index.documents.values(), key=lambda d: d.meta.sort_date())
        return [summary(engine, d.meta.id) for d in order]

    @app.get("/documents/{doc_id}", response_model=DocumentOut, responses=ERRORS, tags=["papers"])
    def document(doc_id: str, request: Request, response: Response, engine: EngineDep):
        """One paper: metadata, the clean text that citation offsets index, and its sections.
        A browser asking for HTML gets the chat page, which opens the paper (permalinks)."""
        if not DOC_ID.match(doc_id) or doc_id not in engine.index.documents:
            raise ApiError(ErrorCode.DOCUMENT_NOT_FOUND, f"no document with id '{doc_id[:100]}' (see GET /documents)")
        accept = request.headers.get("accept", "")
        if "text/html" in accept and "application/json" not in accept:
            return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers={"Vary": "Accept"})
        response.headers["Vary"] = "Accept"  # the same URL is the page for browsers: caches must tell them apart
        doc = engine.index.documents[doc_id]
        return {**summary(engine, doc_id), "text": doc.text, "sections": [s.__dict__ for s in doc.sections],
                "facts": meeting_facts(engine, doc_id)}

    @app.get("/meetings", response_model=list[Meeting], tags=["papers"])
    def meetings(engine: EngineDep) -> list[dict]:
        """Meetings (body + date) with their minute/agenda items, in date order."""
        grouped: dict[tuple, dict] = {}
        for doc in sorted(engine.index.documents.values(), key=lambda d: d.meta.sort_date()):
            m = doc.meta
            key = (m.body, m.meeting_date or f"undated:{m.id}")
            entry = grouped.setdefault(key, {"body": m.body, "meeting_date": m.meeting_date,
                                              "date_bounds": m.date_bounds, "documents": [], "items": []})
            entry["documents"].append(m.id)
            entry.setdefault("facts", []).extend(meeting_facts(engine, m.id))
            for s in doc.sections:
                if s.depth == 1 and s.number:
                    entry["items"].append(MeetingItem(number=s.number, title=s.title, start=s.start, end=s.end,
                                                      url=f"/documents/{m.id}#{s.start}-{s.end}"))
        return list(grouped.values())

    @app.get("/suggestions", tags=["papers"])
    def suggestions(engine: EngineDep) -> dict:
        """Starter questions for the empty chat, drawn from the papers' own tables and minute items."""
        return {"questions": starter_questions(engine)}

    @app.get("/healthz", tags=["service"])
    def healthz(request: Request):
        holder: EngineHolder = request.app.state.holder
        engine = holder.engine
        if engine is None:
            return JSONResponse({"status": "unavailable", "error": holder.error}, status_code=503)
        ix = engine.index
        return {"status": "ok", "index_version": ix.version, "documents": len(ix.documents),
                "chunks": len(ix.chunks), "manifest": {k: v for k, v in ix.manifest.items() if k != "files"}}

    @app.post("/admin/reload", responses=ERRORS, tags=["service"])
    def reload(request: Request, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None):
        """Load the newest index version without a restart (needs MINUTES_QA_ADMIN_TOKEN)."""
        if not settings.admin_token:
            raise ApiError(ErrorCode.ADMIN_DISABLED, "admin operations are disabled: set MINUTES_QA_ADMIN_TOKEN to enable them")
        supplied = (authorization or "").removeprefix("Bearer ").strip()
        if not supplied or not hmac.compare_digest(supplied.encode(), settings.admin_token.encode()):
            raise ApiError(ErrorCode.UNAUTHORIZED, "a valid admin token is required (Authorization: Bearer <token>)",
                           headers={"WWW-Authenticate": "Bearer"})
        holder: EngineHolder = request.app.state.holder
        try:
            changed = holder.reload_if_changed()
        except IndexLoadError as exc:
            raise ApiError(ErrorCode.RELOAD_FAILED, f"the new index was not loaded, the old one stays live: {exc}") from None
        return {"reloaded": changed, "index_version": holder.engine.index.version if holder.engine else None}

    from service.openai_compat import router as openai_router

    app.include_router(openai_router)

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
