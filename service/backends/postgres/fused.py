"""A question's whole retrieval as ONE SQL statement (one round trip): every pass's rankings, their
reciprocal rank fusion, the pseudo-relevance-feedback rankings and their fusion, for all the passes
of a `RetrievalPlan` (the main pass and the papers the question names).

A passage is named by (paper, ord) throughout — a sentence row names its passage so — and the
caller maps that to its position in the loaded index. The statement is a chain of CTEs a pass
(prefix `p<i>_`):
- `raw`: the first rankings, each the same sub-select as `PostgresBackend.statement` (HNSW walk or
  GIN match, the filters as WHERE clauses, the pinned version's visibility, LIMIT CANDIDATES);
- `ranked`: each row's place in its ranking: score desc, then position (paper in manifest order,
  then ord) — the order `PostgresBackend.rankings` sorts a ranking into;
- `contrib`: a passage once a ranking, at its first (best) place; its share 1 / (RRF_K + rank);
- `top`: the first fusion's best `feedback[0]` passages (fused score desc, then position), with
  their vectors and feedback terms (one lookup);
- `rm3`: their heaviest feedback terms, Σ idf over the top passages holding them, idf =
  ln(1 + passages / df) from `term_df` (migration 0003), ties by term in code-point order;
- `moved`: the Rocchio vector, l2_normalize(q + mean(top vectors) × beta) (pgvector's avg and
  element-wise arithmetic);
- `raw2`: the two feedback rankings (the question's terms and the RM3 terms; the moved vector);
- `best`: every share summed IN RANKING ORDER (`sum(c ORDER BY r)`: floating-point sums depend on
  their order, and the Python fusion adds ranking after ranking), best dense and lexical score kept.

So the fused scores and their order are the Python fusion's (`service.backends.fusion`), to the
bit: the same shares added in the same order, ties broken the same way. Only the Rocchio vector is
computed in float4 by pgvector rather than by numpy, so that ranking's scores can differ from the
Python path's in the 7th digit.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from indexer.lexical import tokenize
from service.backends.base import RankingRequest, RetrievalPass, RetrievalPlan
from service.backends.fusion import CANDIDATES, RRF_K, first_requests
from service.backends.postgres.clauses import LEXICAL_RANK, VERSION_GONE, filter_clause, visible
from service.backends.postgres.writer import MAX_LEXEME_BYTES

# A passage's position in the loaded index: papers in manifest order (`pos`, joined once per row from
# the doc_pos CTE: `array_position` over the paper list cost O(papers) for every ranked row), then
# its place in the paper.
_POSITION = "pos, chunk_ord"
# The feedback terms as an OR tsquery of quoted lexemes (as rankings.tsquery_literal quotes them).
_TSQUERY = r"""string_agg('''' || replace(replace(term, '\', '\\'), '''', '''''') || '''', ' | ')::tsquery"""


class StatementSource(Protocol):
    """What the statement reads of the backend (`rankings.PostgresBackend`): its pinned version,
    loaded index, council scope and lexical query (not imported here: that module runs this one)."""

    version: int
    index: Any
    councils: tuple[str, ...]
    common_terms: frozenset[str]

    def lexical_query(self, terms: str | list[str] | None) -> str: ...


class FusedStatement:
    """The statement of a plan and its parameters. `output` chooses what it returns: "hits" (the
    service: pass, place, paper, passage ord, fused, dense and lexical score), or for tests
    "rankings" (every ranking's rows: pass, place, ranking, paper, passage ord, place, score, dense)
    and "terms" (pass, place, feedback term, weight)."""

    def __init__(self, backend: StatementSource, plan: RetrievalPlan, output: str = "hits") -> None:
        self.plan = plan
        self.output = output
        self.params: dict[str, Any] = {
            "v": backend.version,
            "order": list(backend.index.doc_order),
            "passages": len(backend.index.chunks),
            "qv": np.asarray(plan.vector, dtype=np.float32),
            "tq": backend.lexical_query(plan.query),
            "qtokens": list(dict.fromkeys(tokenize(plan.query))),  # the question's own terms: never feedback terms
            "common": sorted(backend.common_terms),
        }
        self.scope = ""
        if backend.councils:  # a deployment serving some councils only: the other partitions are pruned
            self.params["councils"] = list(backend.councils)
            self.scope = " AND council = ANY(%(councils)s)"
        self.ctes: list[str] = []
        self.outputs: list[str] = []
        # Each paper's place in the loaded index's order, for ties (a paper the index never saw gets
        # none and sorts last, as array_position's NULL did; the loader then reports it).
        self._cte("doc_pos", "SELECT d AS doc_id, pos FROM unnest(%(order)s::text[]) WITH ORDINALITY AS o(d, pos)")
        for i, p in enumerate(plan.passes):
            self._add_pass(i, p)

    def sql(self) -> str:
        columns = {
            "hits": "NULL::text, 0, 0::float8, 0::float8, 0::float8",
            "rankings": "0, NULL::text, 0, 0::bigint, 0::float8, false",
            "terms": "NULL::text, 0::float8",
        }[self.output]
        version_check = (
            f"SELECT {VERSION_GONE}, 0::bigint, {columns}"
            " WHERE NOT EXISTS (SELECT 1 FROM index_versions WHERE version = %(v)s)"
        )
        body = " UNION ALL ".join(f"({s})" for s in [*self.outputs, version_check])
        return f"WITH {', '.join(self.ctes)} {body}" if self.ctes else body

    def _cte(self, name: str, sql: str) -> None:
        self.ctes.append(f"{name} AS ({sql})")

    def _vector_param(self, p: int, j: int, vector: np.ndarray | None) -> str:
        if vector is self.plan.vector:
            return "qv"
        name = f"p{p}_x{j}"
        self.params[name] = np.asarray(vector, dtype=np.float32)
        return name

    def _ranking(self, p: int, r: int, request: RankingRequest, where: str) -> str | None:
        """One first-pass ranking's sub-select: (r, dense, doc_id, ord, chunk_ord, s)."""
        table = request.target  # "chunks" | "sentences": a fixed table name, never user input
        chunk_ord = "chunk_ord" if table == "sentences" else "ord"
        dense = request.kind == "dense"
        head = f"SELECT {r} AS r, {dense} AS dense, doc_id, ord, {chunk_ord} AS chunk_ord"
        if dense:
            q = self._vector_param(p, r, request.vector)
            return (
                f"{head}, (-(embedding <#> %({q})s))::float8 AS s FROM {table}"  # noqa: S608
                f" WHERE {visible()}{where} ORDER BY embedding <#> %({q})s LIMIT {CANDIDATES}"
            )
        if not self.params["tq"]:  # no term PostgreSQL can search for: an empty ranking
            return None
        rank = LEXICAL_RANK.format(query="%(tq)s::tsquery")
        return (
            f"{head}, {rank}::float8 AS s FROM {table}"  # noqa: S608
            f" WHERE {visible()}{where} AND lexemes @@ %(tq)s::tsquery ORDER BY s DESC, id LIMIT {CANDIDATES}"
        )

    def _add_pass(self, p: int, step: RetrievalPass) -> None:
        x = f"p{p}_"
        where = filter_clause(step.filters, self.params, x) + self.scope
        requests = first_requests(self.plan, step)
        parts = [s for r, request in enumerate(requests) if (s := self._ranking(p, r, request, where))]
        if not parts:
            return  # nothing to rank (bm25 mode, no searchable term): the pass has no hits
        self._cte(f"{x}raw", " UNION ALL ".join(f"({s})" for s in parts))
        self._ranked(f"{x}raw", f"{x}ranked")
        self._contributions(f"{x}ranked", f"{x}contrib")
        rankeds, contributions = [f"{x}ranked"], [f"{x}contrib"]
        if step.feedback and step.mode == "hybrid":
            self._feedback(p, step, where, len(requests))
            self._ranked(f"{x}raw2", f"{x}ranked2")
            self._contributions(f"{x}ranked2", f"{x}contrib2")
            rankeds.append(f"{x}ranked2")
            contributions.append(f"{x}contrib2")
        every = " UNION ALL ".join(f"SELECT * FROM {c}" for c in contributions)
        order = f"score DESC, {_POSITION}"
        self._cte(
            f"{x}best",
            f"SELECT row_number() OVER (ORDER BY {order}) AS n, doc_id, chunk_ord, score, dense, lexical FROM ("
            "SELECT doc_id, chunk_ord, pos, sum(c ORDER BY r) AS score,"
            " greatest(0, max(s) FILTER (WHERE dense)) AS dense,"
            " greatest(0, max(s) FILTER (WHERE NOT dense)) AS lexical"
            f" FROM ({every}) a GROUP BY doc_id, chunk_ord, pos) h ORDER BY {order} LIMIT {int(step.k)}",
        )
        if self.output == "hits":
            self.outputs.append(f"SELECT {p}, n, doc_id, chunk_ord, score, dense, lexical FROM {x}best")
        elif self.output == "rankings":
            for ranked in rankeds:
                self.outputs.append(f"SELECT {p}, n, r, doc_id, chunk_ord, n, s, dense FROM {ranked}")
        elif self.output == "terms" and len(contributions) > 1:
            self.outputs.append(f"SELECT {p}, n, term, w FROM {x}rm3")

    def _ranked(self, raw: str, name: str) -> None:
        """Each row's place in its ranking: score desc, then the row's position (paper in manifest
        order, then its own ord), as `PostgresBackend.rankings` sorts a ranking."""
        self._cte(
            name,
            "SELECT r, dense, s, x.doc_id, chunk_ord, dp.pos,"
            " row_number() OVER (PARTITION BY r ORDER BY s DESC, dp.pos, ord) AS n"
            f" FROM {raw} x LEFT JOIN doc_pos dp ON dp.doc_id = x.doc_id",
        )

    def _contributions(self, ranked: str, name: str) -> None:
        """Each passage once a ranking, at its first place; its share 1 / (RRF_K + rank + 1), rank
        from 0. Scores are rounded to float4 as a `Ranking` holds them (pgvector's and ts_rank's are)."""
        self._cte(
            name,
            "SELECT r, dense, doc_id, chunk_ord, pos, s::real::float8 AS s,"
            f" 1.0::float8 / ({RRF_K} + row_number() OVER (PARTITION BY r ORDER BY n)) AS c"
            f" FROM (SELECT r, dense, doc_id, chunk_ord, pos, min(n) AS n, max(s) AS s FROM {ranked}"
            " GROUP BY r, dense, doc_id, chunk_ord, pos) f",
        )

    def _feedback(self, p: int, step: RetrievalPass, where: str, first: int) -> None:
        """The top passages of the first fusion, the RM3 terms and the Rocchio vector from them, and
        the two feedback rankings (numbered `first`, `first + 1`: fused after the first ones)."""
        assert step.feedback is not None
        x = f"p{p}_"
        top_k, n_terms, beta = step.feedback
        self.params[f"{x}beta"] = np.full(len(self.params["qv"]), beta, dtype=np.float32)
        self._cte(
            f"{x}top",
            "SELECT c.embedding, c.feedback_terms FROM (SELECT doc_id, chunk_ord, pos, sum(c ORDER BY r) AS score"
            f" FROM {x}contrib GROUP BY doc_id, chunk_ord, pos ORDER BY score DESC, {_POSITION} LIMIT {int(top_k)}) k"
            f" JOIN chunks c ON c.doc_id = k.doc_id AND c.ord = k.chunk_ord AND {visible('c')}"
            + (" AND c.council = ANY(%(councils)s)" if self.scope else ""),
        )
        # Σ idf over the top passages that hold the term: every addend is the same number, so the sum
        # does not depend on its order (the Python feedback adds it passage by passage).
        self._cte(
            f"{x}rm3",
            'SELECT term, w, row_number() OVER (ORDER BY w DESC, term COLLATE "C") AS n FROM ('
            "SELECT u.term, sum(coalesce(ln(1 + %(passages)s::float8 / d.df), 0)) AS w"
            f" FROM {x}top k CROSS JOIN LATERAL unnest(k.feedback_terms) AS u(term)"
            " LEFT JOIN term_df d ON d.version = %(v)s AND d.term = u.term"
            " WHERE u.term <> ALL(%(qtokens)s::text[]) GROUP BY u.term) t"
            f' ORDER BY w DESC, term COLLATE "C" LIMIT {int(n_terms)}',
        )
        self._cte(
            f"{x}moved",
            f"SELECT l2_normalize(%(qv)s::vector + avg(embedding) * %({x}beta)s::vector) AS m FROM {x}top",
        )
        # The question's terms and the feedback terms, common ones left out unless nothing else is
        # left (as PostgresBackend.lexical_query); none at all when the first fusion found nothing.
        self._cte(f"{x}terms", f"SELECT term FROM unnest(%(qtokens)s::text[]) AS q(term) UNION SELECT term FROM {x}rm3")
        uncommon = "term <> ALL(%(common)s::text[])"
        self._cte(
            f"{x}tsq",
            f"SELECT {_TSQUERY} AS q FROM (SELECT term FROM {x}terms WHERE {uncommon} UNION ALL SELECT term"
            f" FROM {x}terms WHERE NOT EXISTS (SELECT 1 FROM {x}terms WHERE {uncommon})) kept"
            f" WHERE octet_length(term) <= {MAX_LEXEME_BYTES} AND EXISTS (SELECT 1 FROM {x}top)",
        )
        # Scalar sub-queries (InitPlans): their values are known when the scans start, so the GIN and
        # HNSW indexes serve these rankings as they serve the first ones.
        tsq, moved = f"(SELECT q FROM {x}tsq)", f"(SELECT m FROM {x}moved)"
        rank = LEXICAL_RANK.format(query=tsq)
        self._cte(
            f"{x}raw2",
            f"(SELECT {first} AS r, false AS dense, doc_id, ord, ord AS chunk_ord, {rank}::float8 AS s"
            f" FROM chunks WHERE {visible()}{where} AND lexemes @@ {tsq} ORDER BY s DESC, id LIMIT {CANDIDATES})"
            f" UNION ALL (SELECT {first + 1}, true, doc_id, ord, ord, (-(embedding <#> {moved}))::float8"
            f" FROM chunks WHERE {visible()}{where} AND EXISTS (SELECT 1 FROM {x}top)"
            f" ORDER BY embedding <#> {moved} LIMIT {CANDIDATES})",
        )
