"""The user's retrieval filters and which papers they allow (shared by every retrieval backend).

Kept apart from `service.retrieval` so that the backends (`service.backends`) can use them without an
import cycle; `service.retrieval` re-exports all three names, where the rest of the service imports them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from indexer.models import DocumentMeta
from service.index import LoadedIndex


@dataclass(frozen=True)
class Filters:
    document_ids: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def is_empty(self) -> bool:
        return not (self.document_ids or self.bodies or self.doc_types or self.date_from or self.date_to)


def date_span(meta: DocumentMeta) -> tuple[dt.date, dt.date] | None:
    """(earliest, latest) day the paper's meeting can fall on; None for an undated paper (it can
    never be shown to fall inside a date range). The PostgreSQL backend stores the same two days."""
    if meta.meeting_date:
        day = dt.date.fromisoformat(meta.meeting_date)
        return day, day
    if meta.date_bounds and meta.date_bounds.get("after") and meta.date_bounds.get("before"):
        return dt.date.fromisoformat(meta.date_bounds["after"]), dt.date.fromisoformat(meta.date_bounds["before"])
    return None


def _doc_in_dates(meta: DocumentMeta, date_from: dt.date | None, date_to: dt.date | None) -> bool:
    span = date_span(meta)
    if span is None:
        return False
    earliest, latest = span
    return (date_from is None or earliest >= date_from) and (date_to is None or latest <= date_to)


def allowed_documents(index: LoadedIndex, filters: Filters) -> list[str]:
    if filters.document_ids and not (filters.bodies or filters.doc_types or filters.date_from or filters.date_to):
        # papers named by id (the engine's named pass): looked up, not every paper tested
        positions = index.doc_positions
        return [index.doc_order[p] for p in sorted({positions[d] for d in filters.document_ids if d in positions})]
    # (sets made once per call: at 5,000 papers a tuple test per paper took 180 ms a question)
    ids = set(filters.document_ids)
    bodies = {b.lower() for b in filters.bodies}
    doc_types = set(filters.doc_types)
    out = []
    for doc_id in index.doc_order:
        if ids and doc_id not in ids:
            continue
        meta = index.documents[doc_id].meta
        if bodies and (meta.body or "").lower() not in bodies:
            continue
        if doc_types and meta.doc_type not in doc_types:
            continue
        if (filters.date_from or filters.date_to) and not _doc_in_dates(meta, filters.date_from, filters.date_to):
            continue
        out.append(doc_id)
    return out


def chunk_mask(index: LoadedIndex, filters: Filters) -> np.ndarray | None:
    """1.0 for the passages the filters allow, 0.0 elsewhere (None: no filter). Read-only, and
    the same array for the same filters while it stays among the index's recent masks."""
    if filters.is_empty():
        return None

    def make() -> np.ndarray:
        positions = index.doc_positions
        allowed = np.zeros(len(index.doc_order), dtype=bool)
        allowed[[positions[d] for d in allowed_documents(index, filters)]] = True
        return allowed[index.chunk_doc].astype(np.float32)

    return index.filter_masks.get(filters, make)


def sentence_mask(index: LoadedIndex, filters: Filters) -> np.ndarray | None:
    """`chunk_mask` carried to the sentence rows (each sentence as its passage), kept among the
    recent masks the same way: an O(sentences) gather, ~2M rows at 1000x, not worth redoing for
    every ranking of every question that names the same papers."""
    chunks = chunk_mask(index, filters)
    if chunks is None:
        return None
    return index.filter_masks.get(("sentences", filters), lambda: chunks[index.sentence_spans[:, 0]])
