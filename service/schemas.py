"""Request and response models of the HTTP API (the contract other tools rely on)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.engine import Citation  # the dataclass the engine returns is the API's citation shape

_CONTROL = frozenset(chr(c) for c in range(32)) | {"\x7f"}
_LINE_BREAKS = frozenset("\n\r\t")


def _refuse_control_chars(value: str, allowed: frozenset[str]) -> None:
    if any(ch in _CONTROL and ch not in allowed for ch in value):
        raise ValueError("must not contain control characters")


def _no_control_chars(value: str) -> str:
    """A field validator for text that may span lines (questions, turns): tab and line breaks pass."""
    _refuse_control_chars(value, _LINE_BREAKS)
    return value


def one_line(value: str | None) -> str | None:
    """A field validator for one-line text (alert queries, titles, URLs): no control character at all."""
    if value is not None:
        _refuse_control_chars(value, frozenset())
    return value


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)

    _check = field_validator("content")(_no_control_chars)


class FilterSpec(BaseModel):
    """Restrict answers to some papers. Unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")
    document_id: list[str] | str | None = None
    body: list[str] | str | None = None
    doc_type: list[Literal["minutes", "agenda", "report"]] | Literal["minutes", "agenda", "report"] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    history: list[Turn] = Field(default_factory=list)
    filters: FilterSpec | None = None
    top_k: int | None = Field(default=None, ge=1, le=20)
    explain: bool = Field(
        default=False,
        description="add the question analysis, retrieval ranking, scored candidates and the answer/abstain decision",
    )

    _check = field_validator("question")(_no_control_chars)


class AnswerSpan(BaseModel):
    """The exact short answer (a date, amount, name, cell, list) inside one citation's quote:
    document text[start:end], with start/end in the same offsets as the citation."""

    citation: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    confidence: float = Field(ge=0, le=1)
    query: str
    citations: list[Citation]
    related: list[Citation]
    took_ms: float
    answer_span: AnswerSpan | None = None
    explain: dict | None = None


class MeetingFact(BaseModel):
    """A fact of a meeting or report (chair, apologies, end time, resolution, author …): `value` is
    document text[value_start:value_end], quoted inside text[start:end]."""

    role: str
    label: str | None
    value: str
    document_id: str
    item: str | None
    start: int
    end: int
    value_start: int
    value_end: int
    url: str


class SearchResponse(BaseModel):
    query: str
    results: list[Citation]
    took_ms: float


class DocumentSummary(BaseModel):
    id: str
    title: str
    council: str | None
    body: str | None
    meeting_date: str | None
    doc_type: str
    notes: dict[str, str]
    date_bounds: dict[str, str] | None
    url: str
    source_url: str | None = None  # the council's published file, when the manifest records it
    agenda_item: dict[str, str] | None = None  # {number, title} of the item a report belongs to
    page_count: int = 0  # pages of a PDF paper; 0 when the paper has no fixed pages


class SectionOut(BaseModel):
    title: str
    number: str | None
    depth: int
    start: int
    end: int


class PageOut(BaseModel):
    number: int
    start: int  # the page's span of the clean text
    end: int


class DocumentOut(DocumentSummary):
    text: str
    sections: list[SectionOut]
    pages: list[PageOut] = Field(default_factory=list)
    facts: list[MeetingFact] = Field(default_factory=list)


class MeetingItem(BaseModel):
    """A minute / agenda item: its heading's span in paper `document_id`, and the decisions
    (resolution facts) whose quoted span lies inside it."""

    number: str | None
    title: str
    start: int
    end: int
    url: str
    document_id: str
    decisions: list[MeetingFact] = Field(default_factory=list)


class Meeting(BaseModel):
    """The papers of one body on one date. `id` is stable and URL-safe: `{body-slug}-{YYYY-MM-DD}`, or
    `{body-slug}-undated-{paper id}` for a paper whose date is unknown (`undated`; ordered by
    `order_date`, the midpoint of its `date_bounds`)."""

    id: str
    url: str  # /meetings/{id}: the meeting page in a browser, this meeting as JSON otherwise
    body: str | None
    meeting_date: str | None
    date_bounds: dict[str, str] | None
    undated: bool
    order_date: str | None
    documents: list[str]
    items: list[MeetingItem]
    facts: list[MeetingFact] = Field(default_factory=list)


class MeetingPaper(BaseModel):
    id: str
    title: str
    doc_type: str
    url: str


class MeetingPage(Meeting):
    """One meeting with its chair (and vice chair), attendance (members present, also attended),
    apologies and decisions split out of `facts`, and its papers."""

    chair: list[MeetingFact]
    attendance: list[MeetingFact]
    apologies: list[MeetingFact]
    decisions: list[MeetingFact]
    papers: list[MeetingPaper]


class HistoryMeeting(BaseModel):
    """One meeting in a topic's history: the best one or two sentences on the topic (`quotes`,
    citations as in answers), the minute/item of the best one and the decisions recorded under the
    quoted items. `relevance` is the best quote's word cover + meaning (see service/history.py)."""

    id: str
    url: str
    body: str | None
    meeting_date: str | None
    date_bounds: dict[str, str] | None
    undated: bool
    order_date: str | None
    item: str | None
    item_title: str | None
    item_url: str | None
    quotes: list[Citation]
    decisions: list[MeetingFact]
    relevance: float


class HistoryResponse(BaseModel):
    """Every meeting whose papers discuss the topic, in date order (undated ones by `order_date`)."""

    query: str
    meetings: list[HistoryMeeting]
    took_ms: float


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorResponse(BaseModel):
    """The error shape under /v1 (OpenAI's), so the official clients raise their usual exceptions."""

    error: OpenAIErrorBody


class HealthUnavailable(BaseModel):
    """GET /healthz while no index is loaded (a health checker reads `status`, not an error code)."""

    status: Literal["unavailable"]
    error: str | None
