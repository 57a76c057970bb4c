"""The service's engine over the database's live index version (the PostgreSQL `EngineHolder`)."""

from __future__ import annotations

import threading

from indexer.embed import Embedder
from indexer.store import IndexLoadError
from service.backends.postgres.loader import current_version, load_database_index
from service.backends.postgres.rankings import ConnectionPool
from service.index import LoadedIndex
from service.settings import Settings
from service.state import EngineHolder, log


class PostgresEngineHolder(EngineHolder):
    """Loads the newest version published in the database; a reload swaps the engine atomically, as
    with the index folder. Every service process sharing the database reloads on its own: at
    start-up, at POST /admin/reload, and — with MINUTES_QA_DATABASE_POLL_SECONDS — when its poll
    sees a newer version (or, with no version loaded yet, until one loads); until then it answers
    from the version it pinned."""

    def __init__(self, database_url: str, settings: Settings, embedder: Embedder, query_cache_size: int = 1024) -> None:
        super().__init__(settings.index_dir, embedder, query_cache_size)
        self.database_url = database_url
        self.lexical = settings.database_lexical
        self.pool = ConnectionPool(database_url)  # shared by every version this process loads
        self.poll_seconds = settings.database_poll_seconds
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._reloading = threading.Lock()  # one background reload at a time
        # Polling starts now, not after a first successful load: a service started without its
        # index (start_without_index, the database down) loads it as soon as the database is back.
        self._start_polling()

    def load_live_index(self) -> LoadedIndex:
        return load_database_index(
            self.database_url, self.embedder, self.pool, self.lexical, on_version_gone=self.reload_soon
        )

    def reload_soon(self) -> None:
        """Load the newest version in the background (the pinned one was pruned by the writer): the
        request that found out answers 503 at once; the next ones are served by the newest version."""
        if self._reloading.acquire(blocking=False):
            threading.Thread(target=self._reload_in_background, name="minutes-qa-db-reload", daemon=True).start()

    def _reload_in_background(self) -> None:
        try:
            self.reload_if_changed()
        except Exception:  # the database is down too: the poll or the next stale request tries again
            log.exception("reloading after the pinned index version was pruned failed")
        finally:
            self._reloading.release()

    def reload_if_changed(self) -> bool:
        if self.engine is None:  # nothing loaded yet (the database was down, or held no index)
            self.load()
            return True
        newest = current_version(self.database_url)
        if newest is None or self.engine.index.version == f"pg-{newest}":
            return False
        self.load()
        return True

    def _start_polling(self) -> None:
        if self.poll_seconds > 0 and self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="minutes-qa-db-poll", daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if self.reload_if_changed():
                    log.info("loaded index version %s from the database", self.engine and self.engine.index.version)
            except IndexLoadError as exc:  # the database down or not indexed yet: said once a poll, no traceback
                log.warning("the database's index could not be loaded (trying again): %s", exc)
            except Exception:  # a failed reload keeps the loaded version in service; try at the next poll
                log.exception("reloading the database's newest index version failed")

    def close(self) -> None:
        """Stop polling and close the pooled connections."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        self.pool.close()
