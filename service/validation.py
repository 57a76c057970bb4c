"""The checks a request passes before the engine runs, written once.

`POST /ask`, `GET /search`, `POST /v1/chat/completions` and the CLI's `ask` and `search` all call
these, so a limit or a message changes in one place. Each check raises `ApiError` with a code from
the shared vocabulary (`service.errors`); the caller decides how to show it: a native JSON error, an
OpenAI-shaped error, or a one-line CLI message. Each `*_ERRORS` tuple lists the codes a check can
raise, so a route documents exactly what it runs (`error_responses(*QUESTION_ERRORS, ...)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer.lexical import token_set
from service.engine import Engine
from service.errors import ApiError, ErrorCode
from service.retrieval import Filters
from service.schemas import FilterSpec
from service.settings import Settings

QUESTION_ERRORS = (ErrorCode.EMPTY_QUESTION, ErrorCode.QUESTION_TOO_LONG)
HISTORY_ERRORS = (ErrorCode.HISTORY_TOO_LONG,)
FILTER_ERRORS = (ErrorCode.UNKNOWN_FILTER_VALUE, ErrorCode.BAD_DATE_RANGE)


def check_question(question: str, settings: Settings, subject: str = "question") -> str:
    """The question, stripped; `subject` names it in messages (the CLI's search says "search text")."""
    if not question.strip():
        raise ApiError(ErrorCode.EMPTY_QUESTION, f"the {subject} is empty; type a question about the papers")
    if len(question) > settings.max_question_chars:
        raise ApiError(
            ErrorCode.QUESTION_TOO_LONG,
            f"the {subject} is {len(question)} characters; the limit is {settings.max_question_chars}",
        )
    return question.strip()


def check_searchable(query: str, subject: str = "alert query") -> str:
    """A query that must match by its words (an alert's: a passage has to share a content word with
    it) needs at least one word search indexes; "the of and" has none and could never match."""
    if not token_set(query):
        raise ApiError(
            ErrorCode.EMPTY_QUESTION,
            f"the {subject} has no searchable words (only common words such as 'the' or 'of'); name the topic",
        )
    return query


def check_history(turns: Sequence[tuple[str, str]], settings: Settings) -> list[str]:
    """The earlier user questions the engine reads, from (role, text) turns within the history limits.

    Callers pass the turns that make up the conversation: /ask its `history`, the OpenAI endpoint
    the earlier user messages (assistant replies and system prompts are not questions), the CLI its
    `--history` questions.
    """
    if len(turns) > settings.max_history_turns:
        raise ApiError(
            ErrorCode.HISTORY_TOO_LONG, f"the history has {len(turns)} turns; the limit is {settings.max_history_turns}"
        )
    if sum(len(text) for _, text in turns) > settings.max_history_chars:
        raise ApiError(
            ErrorCode.HISTORY_TOO_LONG, f"the history is longer than {settings.max_history_chars} characters"
        )
    return [text for role, text in turns if role == "user" and text.strip()]


def _as_tuple(value: Sequence[str] | str | None) -> tuple[str, ...]:
    """The values of a many-valued filter; a blank value is no filter (a form's empty field), never
    a filter on the empty string that matches nothing."""
    values = (value,) if isinstance(value, str) else tuple(value or ())
    return tuple(v for v in values if v.strip())


def _filters(spec: FilterSpec | None) -> Filters:
    if spec is None:
        return Filters()
    return Filters(
        _as_tuple(spec.document_id), _as_tuple(spec.body), _as_tuple(spec.doc_type), spec.date_from, spec.date_to
    )


def filters_to_spec(filters: Filters) -> dict[str, Any]:
    """Filters as a saved alert stores them (JSON): lists for the many-valued keys, ISO dates, no
    empty keys; `spec_to_filters` reads them back."""
    out: dict[str, Any] = {}
    many = {"document_id": filters.document_ids, "body": filters.bodies, "doc_type": filters.doc_types}
    for key, values in many.items():
        if values:
            out[key] = list(values)
    for key, date in (("date_from", filters.date_from), ("date_to", filters.date_to)):
        if date:
            out[key] = date.isoformat()
    return out


def spec_to_filters(spec: dict[str, Any]) -> Filters:
    """The Filters of a stored spec, read as a request's (checked against the index when it was
    saved; a value the index no longer holds simply matches nothing)."""
    return _filters(FilterSpec.model_validate(spec))


def to_filters(engine: Engine, spec: FilterSpec | None) -> Filters:
    """Filters for the engine, refusing values the index does not hold (a typo would otherwise
    silently return nothing)."""
    if spec is None:
        return Filters()
    filters = _filters(spec)
    docs = engine.index.documents
    unknown = [d for d in filters.document_ids if d not in docs]
    if unknown:
        raise ApiError(
            ErrorCode.UNKNOWN_FILTER_VALUE,
            f"unknown document_id: {', '.join(unknown)} (see GET /documents)",
            param="document_id",
        )
    known_bodies = {(d.meta.body or "").lower() for d in docs.values()}
    unknown = [b for b in filters.bodies if b.lower() not in known_bodies]
    if unknown:
        known = ", ".join(sorted({d.meta.body for d in docs.values() if d.meta.body}))
        raise ApiError(
            ErrorCode.UNKNOWN_FILTER_VALUE, f"unknown body: {', '.join(unknown)} (known: {known})", param="body"
        )
    if spec.date_from and spec.date_to and spec.date_from > spec.date_to:
        raise ApiError(
            ErrorCode.BAD_DATE_RANGE, f"date_from {spec.date_from} is after date_to {spec.date_to}", param="date_from"
        )
    return filters
