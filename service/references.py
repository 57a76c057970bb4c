"""Citations as plain-text numbered references, for the CLI and the OpenAI-compatible replies.

One format for both, e.g. `[1] Cabinet, 14 December 2017, minute 319 — "quote"`, so a reference
reads the same in a terminal and in a chat client.
"""

from __future__ import annotations

import datetime as dt

from service.engine import AskResult, Citation, Engine


def _date(iso: str | None) -> str:
    if not iso:
        return "date not stated"
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B %Y')}"


def page_label(page: int, page_end: int | None) -> str:
    return f"pp. {page}–{page_end}" if page_end and page_end != page else f"p. {page}"


def reference_line(c: Citation, doc_type: str) -> str:
    where = []
    if c.item:
        where.append(("minute " if doc_type == "minutes" else "section ") + c.item)
    if c.page is not None:
        where.append(page_label(c.page, c.page_end))
    parts = [c.body or c.title, _date(c.meeting_date)] + where
    quote = " ".join(c.quote.split())
    return f"[{c.n}] " + ", ".join(parts) + f' — "{quote}"'


def render_answer(engine: Engine, result: AskResult) -> str:
    """The answer followed by its numbered references (the chat reply's content)."""
    lines = [result.answer]
    if result.citations:
        lines.append("")
        lines += [reference_line(c, engine.index.documents[c.document_id].meta.doc_type) for c in result.citations]
    return "\n".join(lines)
