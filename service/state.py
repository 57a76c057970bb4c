"""The live engine, swapped atomically when a new index version is loaded.

A request takes one reference to the engine when it starts and uses it to the end,
so a reload never mixes two index versions within one answer, and in-flight requests
finish on the version they started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from indexer.embed import Embedder
from indexer.store import IndexLoadError
from service.engine import Engine
from service.index import LoadedIndex, load_index

log = logging.getLogger("minutes_qa")


class EngineHolder:
    def __init__(self, index_dir: Path, embedder: Embedder, query_cache_size: int = 1024) -> None:
        self.index_dir = index_dir
        self.query_cache_size = query_cache_size
        self.embedder = embedder
        self.engine: Engine | None = None
        self.error: str | None = "the index has not been loaded yet"
        self._lock = threading.Lock()
        self._on_load: list[Callable[[Engine], None]] = []

    def on_load(self, callback: Callable[[Engine], None]) -> None:
        """Call `callback(engine)` after every successful load (start-up and reloads), e.g. the
        alerts check. Callbacks run in order under the load lock, so two loads never interleave
        their callbacks; one that raises is logged and never undoes the load."""
        self._on_load.append(callback)

    def load_live_index(self) -> LoadedIndex:
        """The live index version (the index folder's; a database holder reads its own)."""
        return load_index(self.index_dir, self.embedder)

    def loaded(self, engine: Engine) -> None:
        """Called under the load lock once `engine` is in service (a subclass may start work)."""

    def load(self) -> Engine:
        """Load the live index version; on failure the current engine stays in service."""
        with self._lock:
            try:
                engine = Engine(self.load_live_index(), self.query_cache_size)
            except IndexLoadError as exc:
                if self.engine is None:
                    self.error = str(exc)
                raise
            self.engine, self.error = engine, None  # one reference assignment: atomic swap
            self.loaded(engine)
            for callback in self._on_load:
                try:
                    callback(engine)
                except Exception:
                    log.exception("an on-load callback failed for index version %s", engine.index.version)
            return engine

    def close(self) -> None:
        """Release what the holder holds at shutdown (the index folder's: nothing; a database's: its
        poll and pooled connections)."""

    def reload_if_changed(self) -> bool:
        from indexer.store import current_version_dir

        vdir = current_version_dir(self.index_dir)
        if vdir is None or (self.engine is not None and vdir.name == self.engine.index.version):
            return False
        self.load()
        return True
