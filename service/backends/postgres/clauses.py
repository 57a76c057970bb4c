"""SQL fragments shared by the PostgreSQL backend's statements (`rankings.PostgresBackend.statement`,
the rankings of one pass; `fused.FusedStatement`, a question's whole retrieval)."""

from __future__ import annotations

from typing import Any

from service.filters import Filters

# PostgreSQL's lexical rank: term frequency with length normalisation (1: divided by 1 + log length).
# Chosen over ts_rank_cd (cover density) on the gold test split: recall@10 56.3 against 54.4, 29
# answers differing from the BM25 index against 51, and a third of the time a ranking (bench/pg_eval.py).
LEXICAL_RANK = "ts_rank(lexemes, {query}, 1)"

# The row a statement returns (ranking or pass -1) when its pinned version is gone: the writer keeps
# KEEP_VERSIONS versions and deletes the rows only older ones see, so a replica still pinned to a
# pruned version would silently lose passages. Checked in the same statement (one snapshot).
VERSION_GONE = -1


def visible(alias: str = "") -> str:
    """The rows index version %(v)s sees (rows carry the version that added them and the one that
    removed them), of table `alias` when given."""
    a = f"{alias}." if alias else ""
    return f"{a}added <= %(v)s AND ({a}removed IS NULL OR {a}removed > %(v)s)"


def filter_clause(filters: Filters, params: dict[str, Any], prefix: str = "") -> str:
    """The user's filters as conditions on the denormalised, indexed metadata columns (parameters
    named with `prefix`, so the passes of one statement each have their own)."""
    clause = ""
    if filters.document_ids:
        params[f"{prefix}doc_ids"] = list(filters.document_ids)
        clause += f" AND doc_id = ANY(%({prefix}doc_ids)s)"
    if filters.bodies:
        params[f"{prefix}bodies"] = [b.lower() for b in filters.bodies]
        clause += f" AND body_lc = ANY(%({prefix}bodies)s)"
    if filters.doc_types:
        params[f"{prefix}doc_types"] = list(filters.doc_types)
        clause += f" AND doc_type = ANY(%({prefix}doc_types)s)"
    if filters.date_from:  # an undated paper (NULL dates) never matches a date range, as in the embedded index
        params[f"{prefix}date_from"] = filters.date_from
        clause += f" AND date_lo >= %({prefix}date_from)s"
    if filters.date_to:
        params[f"{prefix}date_to"] = filters.date_to
        clause += f" AND date_hi <= %({prefix}date_to)s"
    return clause
