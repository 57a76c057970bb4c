"""Request and response models of the HTTP API (the contract other tools rely on)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.engine import Citation  # the dataclass the engine returns is the API's citation shape

_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\r\t"} | {"\x7f"}


def _no_control_chars(value: str) -> str:
    if any(ch in _CONTROL for ch in value):
        raise ValueError("must not contain control characters")
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
    number: str | None
    title: str
    start: int
    end: int
    url: str


class Meeting(BaseModel):
    body: str | None
    meeting_date: str | None
    date_bounds: dict[str, str] | None
    documents: list[str]
    items: list[MeetingItem]
    facts: list[MeetingFact] = Field(default_factory=list)


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
