-- minutes-qa index schema, version 3: what the pseudo-relevance feedback needs to run in SQL, so a
-- question's whole retrieval (rankings, fusion, feedback rankings, the named pass) is one statement.
--
-- chunks.feedback_terms: the passage's distinct search terms that may be feedback terms (RM3): the
-- BM25 tokenizer's terms of its search text, numbers and amounts left out (the `lexemes` column
-- also holds the paper's title line, which feedback never weighed).
-- term_df: per index version, how many passages hold each such term; index_versions.passages: how
-- many passages the version has. Together the inverse document frequency the scorer weighs terms by,
-- ln(1 + passages / df). Written by `minutes-qa index --database-url`, which also fills both for a
-- database indexed before this migration (the service refuses a version without them).

ALTER TABLE chunks ADD COLUMN feedback_terms text[];
ALTER TABLE index_versions ADD COLUMN passages bigint;

CREATE TABLE term_df (
    version bigint NOT NULL,
    term text NOT NULL,
    df integer NOT NULL,
    PRIMARY KEY (version, term)
);

-- The feedback passages are looked up by row id; a sentence's passage by (paper, position).
CREATE INDEX chunks_id ON chunks (id);
CREATE INDEX chunks_doc_ord ON chunks (doc_id, ord);
