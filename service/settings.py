"""One Settings object for the service and CLI, read from MINUTES_QA_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.embed import default_model_name

REPO_ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).with_name("static")  # the web chat page, served by the API


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINUTES_QA_", extra="ignore")

    corpus_dir: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / "index"
    # postgresql://user:password@host:5432/dbname: serve (and `minutes-qa index`) the index in
    # PostgreSQL with pgvector instead of the index folder (service/backends/postgres/).
    database_url: str | None = Field(None, pattern=r"^postgres(ql)?://")
    # Where a database-backed service ranks by words: "database" (PostgreSQL full-text search, GIN,
    # ts_rank: nothing in memory but the answering data) or "memory" (BM25 indexes built at load from
    # the loaded text: the index folder's lexical rankings, and fast at a council's size; see
    # docs/scaling.md). Dense rankings run in PostgreSQL either way.
    database_lexical: str = Field("database", pattern="^(database|memory)$")
    # Seconds between checks for a newer index version in the database (0: only at start-up and
    # POST /admin/reload). Service replicas sharing one database pick up an update on their own.
    database_poll_seconds: float = Field(0.0, ge=0, le=86400)
    # The encoder: by default the fine-tune named in service/data/encoder.json (built by
    # `minutes-qa train-encoder`), else the bundled all-MiniLM-L6-v2.
    model: str = Field(default_factory=default_model_name)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    max_question_chars: int = Field(2000, ge=10)
    max_history_turns: int = Field(20, ge=0)
    max_history_chars: int = Field(20000, ge=0)
    max_request_bytes: int = Field(64 * 1024, ge=1024)
    default_top_k: int = Field(3, ge=1, le=20)
    max_top_k: int = Field(20, ge=1, le=100)

    # The encoder's runtime: ONNX Runtime (the same vectors as PyTorch, checked at load; about
    # three times faster a question) or PyTorch.
    encoder_backend: str = Field("onnx", pattern="^(onnx|torch)$")
    # Threads per query embedding (either backend). One thread per request lets two requests use
    # the two cores in parallel, which serves more requests per second than splitting each over both.
    torch_threads: int = Field(1, ge=1, le=64)
    query_cache_size: int = Field(1024, ge=0)  # cached query embeddings (0 disables the cache)

    admin_token: str | None = None  # enables POST /admin/reload when set
    cors_origins: list[str] = []  # CORS is off unless origins are listed
    start_without_index: bool = False  # serve 503s instead of refusing to start
    on_parse_error: str = Field("fail", pattern="^(fail|skip)$")
    ocr: bool = False  # read PDF pages without a text layer by OCR (needs Debian's tesseract-ocr)

    # Saved searches (service/alerts/). The database sits beside the index directory, never inside a
    # versioned index directory, so rebuilds keep it; None: <index_dir>/../alerts.sqlite.
    alerts_db: Path | None = None
    # A passage matches an alert when its (or one of its sentences') cosine similarity to the query
    # reaches this and it shares a content word with the query. With the fine-tuned MiniLM on the
    # five papers, passages on the asked topic score 0.55-0.78, related ones 0.45-0.5, and passages
    # that merely share a word mostly below 0.35; alerts favour not missing a related passage.
    alert_min_similarity: float = Field(0.45, ge=0, le=1)
    # Seconds to wait before each webhook attempt for one match (at once, after 1 s, after 4 s); an
    # undelivered match is tried again later (alert_webhook_retry_seconds, the next check).
    alert_webhook_backoff: list[Annotated[float, Field(ge=0, le=600)]] = Field([0.0, 1.0, 4.0], min_length=1)
    alert_webhook_timeout: float = Field(10.0, gt=0, le=120)
    # After a delivery pass that left webhooks undelivered, try them again this many seconds later
    # (also at the next check, and at POST /admin/reload).
    alert_webhook_retry_seconds: float = Field(300.0, gt=0, le=86400)
    # Webhooks may only reach public (global) addresses: a URL whose host resolves to loopback,
    # link-local (169.254.169.254, cloud metadata), private or other non-global addresses is refused
    # when saved and before each post. Set for a receiver on the service's own network.
    alert_webhook_allow_private: bool = False
    alert_list_limit: int = Field(200, ge=1, le=10000)  # matches in an alert's JSON view and feed, newest first
    # Saved searches at most: each is checked against every new index version, and without an admin
    # token anyone may save one, so an unbounded number would let one client slow every reload.
    alert_max_count: int = Field(1000, ge=1)
    # The service's public address (https://qa.example.gov.uk): makes webhook links absolute and the
    # feed's links independent of the Host header; None: the feed uses the address it was asked at.
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")

    def alerts_path(self) -> Path:
        return self.alerts_db or self.index_dir.resolve().parent / "alerts.sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
