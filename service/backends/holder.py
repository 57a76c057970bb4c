"""The engine holder the settings ask for (the hook `service.api` starts the service with)."""

from __future__ import annotations

from indexer.embed import Embedder
from service.settings import Settings
from service.state import EngineHolder


def make_holder(settings: Settings, embedder: Embedder) -> EngineHolder:
    """The database's index when MINUTES_QA_DATABASE_URL is set, else the index folder's. The
    PostgreSQL code (and its driver, the optional extra `postgres`) is imported only then."""
    if settings.database_url:
        from service.backends.postgres.holder import PostgresEngineHolder

        return PostgresEngineHolder(settings.database_url, settings, embedder, settings.query_cache_size)
    return EngineHolder(settings.index_dir, embedder, settings.query_cache_size)
