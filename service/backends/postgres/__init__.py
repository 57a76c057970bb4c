"""The PostgreSQL backend: the index in PostgreSQL with pgvector (HNSW) and full-text search (GIN),
partitioned by council; selected by `MINUTES_QA_DATABASE_URL=postgresql://…`.

- `schema`: the versioned migrations (migrations/NNNN_*.sql), applied by `minutes-qa index
  --database-url`, checked by the service at start-up; council partitions.
- `writer`: `minutes-qa index --database-url` — incremental, one transaction per update.
- `loader`: the answering data of one pinned index version → `LoadedIndex`.
- `rankings`: `PostgresBackend`: a question's retrieval in one SQL round trip (`retrieve`), and rankings.
- `fused`: that one statement (rankings, reciprocal rank fusion, feedback rankings, every pass).
- `clauses`: SQL fragments both statements share (filters as WHERE clauses, the lexical rank).
- `holder`: `PostgresEngineHolder`, the service's engine over the database's live version.
- `sharding`: council partitions on other servers through postgres_fdw (the stand-in for Citus).
"""
