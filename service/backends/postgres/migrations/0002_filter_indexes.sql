-- minutes-qa index schema, version 2: one index a filter column.
-- 0001's composite (doc_id, body_lc, doc_type, date_lo, date_hi) indexes serve a filter on doc_id
-- (their leading column) only; a filter by body, paper type or dates alone walked every row of the
-- partition. Non-unique indexes on the partitioned parents: PostgreSQL makes one on every local
-- partition (now and for partitions made later) and skips foreign ones (their shard has its own).

CREATE INDEX chunks_body_lc ON chunks (body_lc);
CREATE INDEX chunks_doc_type ON chunks (doc_type);
CREATE INDEX chunks_dates ON chunks (date_lo, date_hi);

CREATE INDEX sentences_body_lc ON sentences (body_lc);
CREATE INDEX sentences_doc_type ON sentences (doc_type);
CREATE INDEX sentences_dates ON sentences (date_lo, date_hi);
