"""Blocks → sections, retrievable chunks and sentence spans.

Text chunks are whole paragraphs or bullets (split at sentence boundaries only when
too long). Each table row becomes a self-describing passage that repeats the column
headers beside its cells; a row too long for the model is split into one passage per
cell. Chunks carry their section path and the innermost minute/item number.
"""

from __future__ import annotations

from collections.abc import Callable

from indexer.models import Chunk, Section, TableCell
from indexer.sentences import split_sentences
from indexer.structure import Block

TEXT_TOKEN_BUDGET = 200  # cl100k tokens in a chunk's search text
PATH_SEP = " › "
BLANK = "(blank)"


class Chunker:
    def __init__(
        self,
        count_budget_tokens: Callable[[str], int],
        count_model_tokens: Callable[[str], int],
        model_max_tokens: int,
        budget: int = TEXT_TOKEN_BUDGET,
    ) -> None:
        self.count_budget = count_budget_tokens
        self.count_model = count_model_tokens
        self.model_max = model_max_tokens
        self.budget = budget

    def fits(self, search_text: str) -> bool:
        return self.count_budget(search_text) <= self.budget and self.count_model(search_text) <= self.model_max

    def chunk(self, doc_id: str, text: str, blocks: list[Block]):
        sections = _sections(text, blocks)
        chunks: list[Chunk] = []
        sentences: list[tuple[int, int, int]] = []
        stack: list[Block] = []
        label: str | None = None  # a short label line ("Report author(s):") gives the next block context
        for block in blocks:
            if block.kind == "heading":
                while stack and stack[-1].depth >= block.depth:
                    stack.pop()
                stack.append(block)
                label = None
                continue
            path = PATH_SEP.join(h.title or "" for h in stack) or None
            item = next((h.number for h in reversed(stack) if h.number), None)
            if block.kind == "table":
                if any((h.title or "").strip().lower() == "contents" for h in stack):
                    continue  # a table of contents is navigation, not something the papers say
                self._table(doc_id, text, block, path, item, chunks, sentences)
                label = None
                continue
            body = text[block.start : block.end]
            head = "\n".join(x for x in (path, label) if x)
            self._text(doc_id, text, block.start, block.end, path, item, chunks, sentences, prefix=head)
            label = body if _is_label(body) else None
        return sections, chunks, sentences

    # -- text -------------------------------------------------------------------------
    def _text(
        self,
        doc_id,
        text,
        start,
        end,
        path,
        item,
        chunks,
        sentences,
        kind="text",
        prefix: str | None = None,
        extra: dict | None = None,
    ) -> None:
        head = prefix if prefix is not None else (path or "")
        spans = split_sentences(text[start:end], start) or [(start, end)]
        window: list[tuple[int, int]] = []

        def emit(win: list[tuple[int, int]]) -> None:
            s, e = win[0][0], win[-1][1]
            idx = len(chunks)
            chunks.append(Chunk(doc_id, kind, s, e, path, item, f"{head}\n{text[s:e]}".strip(), **(extra or {})))
            sentences.extend((idx, a, b) for a, b in win)

        for span in spans:
            candidate = window + [span]
            if window and not self.fits(f"{head}\n{text[candidate[0][0] : candidate[-1][1]]}"):
                emit(window)
                window = [span]
            else:
                window = candidate
        if window:
            emit(window)

    # -- tables -----------------------------------------------------------------------
    def _table(self, doc_id, text, block, path, item, chunks, sentences) -> None:
        headers = [c.text for c in block.rows[block.header_row]] if block.header_row is not None else None
        lead = "\n".join(x for x in (block.caption, path) if x)
        for r, row in enumerate(block.rows):
            if headers is not None and r == block.header_row:
                continue
            filled_cells = [c for c in row if c.text] or row
            start, end = filled_cells[0].start, filled_cells[-1].end  # quote from first to last filled cell
            if headers is not None and r > block.header_row:
                cells = [
                    TableCell(headers[c] if c < len(headers) else "", cell.text, cell.start, cell.end)
                    for c, cell in enumerate(row)
                ]
                label_i = next((i for i, c in enumerate(cells) if c.header and c.text), None)
                if label_i is None:
                    continue
                label = cells[label_i].text
                parts = [f"{c.header}: {c.text or BLANK}" for i, c in enumerate(cells) if i != label_i and c.header]
                parts += [c.text for i, c in enumerate(cells) if i > label_i and not c.header and c.text]
                passage = f"{label} — " + "; ".join(parts)
            else:
                cells = [TableCell("", cell.text, cell.start, cell.end) for cell in row]
                filled = [c for c in cells if c.text]
                if not filled:
                    continue
                label = filled[0].text
                passage = " | ".join(c.text for c in filled)
            search_text = f"{lead}\n{passage}".strip()
            extra = {"caption": block.caption, "row_label": label, "cells": cells}
            if self.fits(search_text):
                chunks.append(Chunk(doc_id, "table_row", start, end, path, item, search_text, **extra))
                sentences.append((len(chunks) - 1, start, end))
                continue
            for cell in cells:  # too long for one passage: one per cell, labelled with row and column
                if not cell.text or (cell.text == label and cell.header):
                    continue
                prefix = f"{lead}\n{label} — {cell.header or label}:"
                self._text(
                    doc_id,
                    text,
                    cell.start,
                    cell.end,
                    path,
                    item,
                    chunks,
                    sentences,
                    kind="table_cell",
                    prefix=prefix,
                    extra={"caption": block.caption, "row_label": label, "cells": [cell]},
                )


def _is_label(body: str) -> bool:
    """'Present:', 'Report author(s):', 'Ward(s) Affected' — a short line that introduces the next block."""
    return len(body.split()) <= 8 and "\n" not in body and not body.rstrip().endswith((".", "?", "!"))


def _sections(text: str, blocks: list[Block]) -> list[Section]:
    heads = [b for b in blocks if b.kind == "heading"]
    sections = []
    for i, h in enumerate(heads):
        end = len(text)
        for later in heads[i + 1 :]:
            if later.depth <= h.depth:
                end = later.start
                break
        sections.append(Section(h.title or "", h.number, h.depth, h.start, end))
    for s in sections:  # trim trailing blank lines so text[start:end] ends on content
        while s.end > s.start and text[s.end - 1] in "\n ":
            s.end -= 1
    return sections
