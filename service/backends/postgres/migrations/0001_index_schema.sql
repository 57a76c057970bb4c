-- minutes-qa index schema, version 1.
-- :DIMENSION is replaced by the embedding model's dimension when the database is first migrated
-- (it is recorded in index_settings; the service refuses a database made for another model).
--
-- Every content row carries the index versions it belongs to: visible at version v when
-- added <= v AND (removed IS NULL OR removed > v). An update adds rows and marks rows removed in
-- one transaction, then records its version; a reader pins one version for all its queries, so it
-- sees the old or the new index, never a mix. Rows removed KEEP_VERSIONS versions ago are deleted.
--
-- The content tables are LIST-partitioned by council (one partition per council, made on demand by
-- `ensure_partition`), so a council's rows can live on another server (postgres_fdw here, Citus in
-- production). No unique constraints on them: a foreign partition cannot take a unique index.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE index_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    model text NOT NULL,
    dimension integer NOT NULL
);

CREATE TABLE index_versions (
    version bigint PRIMARY KEY,
    published_at timestamptz NOT NULL DEFAULT now(),
    manifest jsonb NOT NULL,
    doc_order text[] NOT NULL  -- the corpus manifest's order: chunk positions follow it
);

CREATE TABLE councils (
    council text PRIMARY KEY,
    partition_suffix text NOT NULL UNIQUE,
    server text  -- NULL: partitions on this server; else the postgres_fdw server holding them
);

CREATE SEQUENCE content_row_ids;

CREATE TABLE documents (
    id bigint NOT NULL DEFAULT nextval('content_row_ids'),
    council text NOT NULL,
    doc_id text NOT NULL,
    added bigint NOT NULL,
    removed bigint,
    content_hash text NOT NULL,  -- parser, model, metadata and file bytes: unchanged papers keep their rows
    meta jsonb NOT NULL,
    text text NOT NULL,
    sections jsonb NOT NULL,
    pages jsonb NOT NULL,
    units jsonb NOT NULL  -- answer units and meeting facts (loaded with the paper, never searched)
) PARTITION BY LIST (council);
CREATE INDEX documents_visible ON documents (doc_id, added, removed);

CREATE TABLE chunks (
    id bigint NOT NULL DEFAULT nextval('content_row_ids'),
    council text NOT NULL,
    doc_id text NOT NULL,
    added bigint NOT NULL,
    removed bigint,
    ord integer NOT NULL,  -- position in its paper
    data jsonb NOT NULL,
    content_key text NOT NULL,  -- sha256 of model and text: vectors are reused by it
    embedding vector(:DIMENSION) NOT NULL,
    lexemes tsvector NOT NULL,  -- the BM25 tokenizer's terms (indexer.lexical.tokenize), with positions
    body_lc text,
    doc_type text NOT NULL,
    date_lo date,
    date_hi date
) PARTITION BY LIST (council);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops);
CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);
CREATE INDEX chunks_filters ON chunks (doc_id, body_lc, doc_type, date_lo, date_hi);
CREATE INDEX chunks_visible ON chunks (added, removed);
CREATE INDEX chunks_content_key ON chunks (content_key);

CREATE TABLE sentences (
    id bigint NOT NULL DEFAULT nextval('content_row_ids'),
    council text NOT NULL,
    doc_id text NOT NULL,
    added bigint NOT NULL,
    removed bigint,
    ord integer NOT NULL,  -- position in its paper
    chunk_ord integer NOT NULL,  -- its passage's position in the paper
    start_offset integer NOT NULL,
    end_offset integer NOT NULL,
    content_key text NOT NULL,
    embedding vector(:DIMENSION) NOT NULL,
    lexemes tsvector NOT NULL,
    body_lc text,
    doc_type text NOT NULL,
    date_lo date,
    date_hi date
) PARTITION BY LIST (council);
CREATE INDEX sentences_embedding ON sentences USING hnsw (embedding vector_ip_ops);
CREATE INDEX sentences_lexemes ON sentences USING gin (lexemes);
CREATE INDEX sentences_filters ON sentences (doc_id, body_lc, doc_type, date_lo, date_hi);
CREATE INDEX sentences_visible ON sentences (added, removed);
CREATE INDEX sentences_content_key ON sentences (content_key);
