"""`PostgresBackend`: a question's whole retrieval in one SQL statement (`retrieve`, built by
`fused.FusedStatement`: rankings, reciprocal rank fusion, feedback rankings, every pass), and the
rankings of a list of requests in one statement (`rankings`: what the Python fusion asks for when
lexical rankings are BM25 in memory, and what the tests compare the fused statement with).

Each ranking is a sub-select over one pinned index version with the user's filters as WHERE
clauses on indexed columns, joined by UNION ALL:
- dense: `ORDER BY embedding <#> q LIMIT n` (pgvector inner product, HNSW; `hnsw.ef_search` is
  raised to the ranking depth, and iterative scans keep filtered searches full);
- lexical: `lexemes @@ q` (GIN) ranked by `ts_rank(lexemes, q, 1)` (LEXICAL_RANK) — term frequency
  with length normalisation. The terms are those of the embedded BM25 index
  (`indexer.lexical.tokenize`), but PostgreSQL's rank is not BM25 (no inverse document frequency),
  so lexical rankings differ; dense rankings are the same as FAISS's.
`rankings` returns at most n rows a ranking; `retrieve` returns only each pass's fused top k, each
with its best dense and lexical score for the explain view.

A lost connection (the database restarting, failing over) is answered with a 503
`index_unavailable` in the shared error shape, after one retry on a fresh connection when the lost
one was a pooled (idle) one; the next request opens a new connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from service.backends.base import Hit, Ranking, RankingRequest, RetrievalPlan
from service.backends.postgres.clauses import LEXICAL_RANK, VERSION_GONE, filter_clause, visible
from service.errors import ApiError, ErrorCode
from service.filters import Filters
from service.index import LoadedIndex

# Query terms found in more than this share of the passages are left out of the lexical rankings:
# ts_rank has no inverse document frequency, so such a term ranked as high as a rare one, and an OR
# over it matched (and ranked) most rows. Leaving them out stands in for BM25's low weight.
COMMON_TERM_SHARE = 0.25
EF_SEARCH = 200  # HNSW candidate list: at least the ranking depth (CANDIDATES = 100), or rankings come back short
_VISIBLE = visible()
_VERSION_CHECK = (  # see VERSION_GONE
    f"(SELECT {VERSION_GONE} AS r, 0::bigint AS id, 0::float8 AS s"
    " WHERE NOT EXISTS (SELECT 1 FROM index_versions WHERE version = %(v)s))"
)


STATEMENT_TIMEOUT_MS = 10_000  # a ranking statement takes milliseconds; one that hangs frees its connection
# TCP keepalives: a connection whose server vanished (failover, a cut network) is found dead in about a minute
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
# SQLSTATEs of a lost connection besides class 08: admin_shutdown, crash_shutdown, cannot_connect_now.
_CONNECTION_LOST = {"57P01", "57P02", "57P03"}


def connection_lost(exc: Exception, conn: Any) -> bool:
    """Whether `exc` means the connection (not the statement) failed: no connection could be made,
    the connection is broken, or the server said so (SQLSTATE class 08, 57P01-57P03)."""
    if conn is None or conn.closed or conn.broken:
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith("08") or state in _CONNECTION_LOST


class ConnectionPool:
    """A few reusable connections; a broken one is dropped, never handed out again. A pooled
    connection may have died while idle (the database restarted): a statement that fails on one
    because the connection is lost runs once more on a fresh connection before it is an error."""

    def __init__(self, url: str, size: int = 4, timeout: float = 3.0) -> None:
        self.url = url
        self.size = size
        self.timeout = timeout
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def _open(self) -> Any:
        from service.backends.postgres.schema import connect

        conn = connect(self.url, autocommit=True, timeout=self.timeout, **KEEPALIVES)
        try:
            # Never prepared statements: a generic plan knows neither the query vector nor the council
            # scope, so it prunes no partition at plan time and may sort a whole table instead of
            # walking the HNSW index (measured at 10x: a first pass took 168 ms p50, now 16; bench/pg_scale.py).
            conn.prepare_threshold = None
            conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
            conn.execute("SET hnsw.iterative_scan = strict_order")  # filtered searches still return n rows
        except BaseException:
            conn.close()  # never leak a half-set-up connection
            raise
        return conn

    def run(self, query: Any, params: dict[str, Any]) -> list[tuple]:
        """Rows of `query`. A database that cannot be reached raises ApiError(INDEX_UNAVAILABLE, 503);
        any other database error ApiError(INTERNAL_ERROR, 500) naming it. The connection goes back
        to the pool only if it is still sound."""
        import psycopg

        with self._lock:
            conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        while True:
            try:
                if conn is None:
                    conn = self._open()
                rows = conn.execute(query, params).fetchall()
            except psycopg.Error as exc:
                lost = connection_lost(exc, conn)
                if conn is not None:
                    self._give_back(conn, keep=not lost)
                    conn = None
                if lost and reused:  # died while idle: once more on a fresh connection
                    reused = False
                    continue
                if lost:
                    raise ApiError(
                        ErrorCode.INDEX_UNAVAILABLE,
                        f"the index database is unreachable ({exc.__class__.__name__}); try again shortly",
                    ) from None
                raise ApiError(
                    ErrorCode.INTERNAL_ERROR,
                    f"the index database could not rank the passages ({exc.__class__.__name__}: "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'})",
                ) from None
            self._give_back(conn)
            return rows

    def _give_back(self, conn: Any, keep: bool = True) -> None:
        """Return a sound, idle connection to the pool; close any other (and any once the pool is closed)."""
        import psycopg

        keep = keep and not conn.closed and not conn.broken
        keep = keep and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if keep and not self._closed and len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def tsquery_literal(terms: list[str]) -> str:
    """Any of the terms (OR), as a tsquery literal: the lexemes are taken as they are, not re-parsed.
    Terms too long for PostgreSQL are left out, as the writer leaves them out of the passages."""
    from service.backends.postgres.writer import fits_lexeme, quote_lexeme

    return " | ".join(f"'{quote_lexeme(t)}'" for t in dict.fromkeys(terms) if fits_lexeme(t))


def common_terms(conn: Any, version: int, councils: tuple[str, ...] = ()) -> frozenset[str]:
    """The terms in more than COMMON_TERM_SHARE of the passages of `version` (ts_stat: one scan)."""
    from psycopg import sql

    scope = sql.SQL(" AND council = ANY({})").format(sql.Literal(list(councils))) if councils else sql.SQL("")
    passages = sql.SQL(
        "SELECT lexemes FROM chunks WHERE added <= {v} AND (removed IS NULL OR removed > {v}){scope}"
    ).format(v=sql.Literal(version), scope=scope)
    inner = passages.as_string(conn)
    total = conn.execute(sql.SQL("SELECT count(*) FROM ({}) p").format(passages)).fetchone()[0]
    rows = conn.execute(
        "SELECT word FROM ts_stat(%s) WHERE ndoc > %s", (inner, COMMON_TERM_SHARE * max(total, 1))
    ).fetchall()
    return frozenset(w for (w,) in rows)


class PostgresBackend:
    def __init__(
        self,
        index: LoadedIndex,
        pool: ConnectionPool,
        version: int,
        chunk_positions: dict[int, int],
        sentence_positions: dict[int, int],
        councils: tuple[str, ...] = (),
        common_terms: frozenset[str] = frozenset(),
        lexical_in_memory: bool = False,
        on_version_gone: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        # Called when the pinned version was pruned (the holder then loads the newest one).
        self.on_version_gone = on_version_gone
        self.councils = councils
        self.common_terms = common_terms  # see COMMON_TERM_SHARE
        # True: lexical rankings by the BM25 indexes the loader built in memory (index.lexical,
        # index.sentence_lexical), dense ones in SQL; see Settings.database_lexical.
        self.lexical_in_memory = lexical_in_memory
        self.pool = pool
        self.version = version
        self._positions = {"chunks": chunk_positions, "sentences": sentence_positions}
        self._chunk_starts: dict[str, tuple[int, int]] | None = None  # paper → (first position, passages)

    def lexical_query(self, terms: str | list[str] | None) -> str:
        """The tsquery literal of a lexical ranking ("" when no term can be searched for)."""
        from indexer.lexical import tokenize

        tokens = tokenize(terms) if isinstance(terms, str) else list(terms or [])
        # Only common terms (a question of common words): keep them, rather than rank nothing.
        return tsquery_literal([t for t in tokens if t not in self.common_terms] or tokens)

    def statement(self, requests: list[RankingRequest], filters: Filters, n: int) -> tuple[str, dict[str, Any]]:
        """The one SQL statement (UNION ALL of a sub-select a ranking) and its parameters."""
        params: dict[str, Any] = {"v": self.version}
        limit = int(n)  # written into the SQL: the planner costs an index walk by its LIMIT
        where = filter_clause(filters, params)
        if self.councils:  # a deployment serving some councils only: the other partitions are pruned
            params["councils"] = list(self.councils)
            where += " AND council = ANY(%(councils)s)"
        parts = []
        for i, r in enumerate(requests):
            table = r.target  # "chunks" | "sentences": a fixed table name, never user input
            if r.kind == "dense":
                params[f"q{i}"] = np.asarray(r.vector, dtype=np.float32)
                parts.append(
                    f"(SELECT {i} AS r, id, -(embedding <#> %(q{i})s) AS s FROM {table}"  # noqa: S608
                    f" WHERE {_VISIBLE}{where} ORDER BY embedding <#> %(q{i})s LIMIT {limit})"
                )
            else:
                query = self.lexical_query(r.terms)
                if not query:  # no term PostgreSQL can search for
                    continue
                params[f"q{i}"] = query
                parts.append(
                    f"(SELECT {i} AS r, id, {LEXICAL_RANK.format(query=f'%(q{i})s::tsquery')} AS s FROM {table}"  # noqa: S608
                    f" WHERE {_VISIBLE}{where} AND lexemes @@ %(q{i})s::tsquery ORDER BY s DESC, id LIMIT {limit})"
                )
        if parts:
            parts.append(_VERSION_CHECK)
        return " UNION ALL ".join(parts), params

    def rankings(self, requests: list[RankingRequest], filters: Filters, n: int) -> list[Ranking]:
        if self.lexical_in_memory and any(r.kind == "lexical" for r in requests):
            from service.backends.embedded import EmbeddedBackend

            in_sql = [r for r in requests if r.kind == "dense"]
            done = dict(zip(map(id, in_sql), self.rankings(in_sql, filters, n), strict=True)) if in_sql else {}
            in_memory = [r for r in requests if r.kind == "lexical"]
            done.update(
                zip(map(id, in_memory), EmbeddedBackend(self.index).rankings(in_memory, filters, n), strict=True)
            )
            return [done[id(r)] for r in requests]
        query, params = self.statement(requests, filters, n)
        rows = self.pool.run(query, params) if query else []
        grouped: dict[int, list[tuple[float, int]]] = {}
        for r_i, row_id, score in rows:
            if r_i == VERSION_GONE:
                self._version_gone("the index version was replaced; reloading, try again shortly")
            position = self._positions[requests[r_i].target].get(int(row_id))
            if position is None:  # a row of the pinned version the loader did not see: never skip it silently
                self._version_gone(
                    "the index version is inconsistent with the loaded one; reloading, try again shortly"
                )
            grouped.setdefault(r_i, []).append((float(score), position))
        out = []
        for i in range(len(requests)):
            best = sorted(grouped.get(i, []), key=lambda sp: (-sp[0], sp[1]))
            ids = np.array([p for _, p in best], dtype=np.int64)
            out.append(Ranking(ids, np.array([s for s, _ in best], dtype=np.float32)))
        return out

    def retrieve(self, plan: RetrievalPlan) -> list[list[Hit]]:
        """Every pass of `plan` — rankings, fusion, feedback rankings — in ONE statement (fused.py).
        With lexical rankings by BM25 in memory, the passes are fused in Python (a round trip for
        the first rankings, one for the feedback rankings, each pass)."""
        if self.lexical_in_memory:
            from service.backends.fusion import fuse_in_python

            return fuse_in_python(self, plan)
        from service.backends.postgres.fused import FusedStatement

        statement = FusedStatement(self, plan)
        rows = self.pool.run(statement.sql(), statement.params)
        out: list[list[Hit]] = [[] for _ in plan.passes]
        for p, n, doc_id, ord_, score, dense, lexical in sorted(rows, key=lambda row: (row[0], row[1])):
            if p == VERSION_GONE:
                self._version_gone("the index version was replaced; reloading, try again shortly")
            out[p].append(
                Hit(self.chunk_position(doc_id, ord_), float(score), float(dense), float(lexical), int(n) - 1)
            )
        return out

    def chunk_position(self, doc_id: str, ord_: int) -> int:
        """The loaded index's position of a paper's passage `ord_` (a paper's passages are consecutive,
        in order). A passage of the pinned version the loader did not see is an error, never skipped."""
        if self._chunk_starts is None:
            starts: dict[str, tuple[int, int]] = {}
            for i, chunk in enumerate(self.index.chunks):
                first, count = starts.get(chunk.doc_id, (i, 0))
                starts[chunk.doc_id] = (first, count + 1)
            self._chunk_starts = starts
        first, count = self._chunk_starts.get(doc_id, (0, 0))
        if not 0 <= ord_ < count:
            self._version_gone("the index version is inconsistent with the loaded one; reloading, try again shortly")
        return first + ord_

    def _version_gone(self, message: str) -> NoReturn:
        if self.on_version_gone is not None:
            self.on_version_gone()
        raise ApiError(ErrorCode.INDEX_UNAVAILABLE, message)
