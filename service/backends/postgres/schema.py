"""Versioned migrations (migrations/NNNN_name.sql), the start-up check, council partitions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.store import IndexLoadError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
CONTENT_TABLES = ("documents", "chunks", "sentences")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    out = []
    paths = sorted(folder.glob("*.sql"))
    if not paths:  # an install whose package data left them out: say so, not an IndexError later
        raise IndexLoadError(
            f"no schema migrations found in {folder}: this minutes-qa installation is incomplete "
            "(reinstall it; a wheel must include service/backends/postgres/migrations/*.sql)"
        )
    for path in paths:
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        out.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    if [m.number for m in out] != list(range(1, len(out) + 1)):
        raise ValueError("migrations must be numbered 0001, 0002, … without gaps")
    return out


def connect(url: str, *, autocommit: bool = False, timeout: float = 5.0, **options: Any) -> Any:
    """A psycopg connection (`options`: more libpq connection parameters, e.g. keepalives);
    pgvector's numpy adapter is registered once the extension exists."""
    import psycopg

    conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=max(1, int(timeout)), **options)
    try:
        has_vector = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if not autocommit:
            conn.commit()
        if has_vector:
            from pgvector.psycopg import register_vector

            register_vector(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def as_array(value: Any) -> np.ndarray:
    """A pgvector value as float32 numpy (pgvector's loaders return `Vector` or numpy by protocol)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _applied(conn: Any) -> list[tuple[int, str]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return []
    return [(int(n), name) for n, name in conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")]


_CONNINFO_KEYS = {"host", "port", "dbname", "user", "password"}


def migrate(url: str, model: str, dimension: int) -> list[str]:
    """Apply the pending migrations (each in its own transaction) and record the model, here and on
    the shard servers a coordinator's council partitions live on; returns the names applied. A
    database made for another model or dimension is refused."""
    applied_names = []
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7715001)")  # two indexers never migrate at once
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {n for n, _ in _applied(conn)}
        for m in migrations():
            if m.number in done:
                continue
            conn.execute(m.sql.replace(":DIMENSION", str(int(dimension))).encode())
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.number, m.name))
            applied_names.append(f"{m.number:04d}_{m.name}")
        conn.execute(
            "INSERT INTO index_settings (model, dimension) VALUES (%s, %s) ON CONFLICT (singleton) DO NOTHING",
            (model, dimension),
        )
        conn.commit()
        shards = shard_conninfos(conn)
    with connect(url) as conn:
        check_schema(conn, model, dimension)
    # A coordinator's council partitions on other servers (postgres_fdw): a migration altering a
    # content table changed only the coordinator's foreign-table definitions, so each shard's own
    # tables are migrated too, or writes through the foreign partitions would name missing columns.
    for server, conninfo in shards:
        applied_names += [f"{name} (shard {server})" for name in migrate(conninfo, model, dimension)]
    return applied_names


def _options(items: list[str] | None) -> dict[str, str]:
    return dict(item.split("=", 1) for item in items or [])


def shard_conninfos(conn: Any) -> list[tuple[str, str]]:
    """(server name, conninfo) of each shard server the coordinator's council partitions point at,
    from its postgres_fdw server options and this user's mapping (user, and password if stored)."""
    from psycopg.conninfo import make_conninfo

    rows = conn.execute(
        "SELECT s.srvname, s.srvoptions, um.umoptions FROM pg_foreign_server s"
        " LEFT JOIN pg_user_mappings um ON um.srvid = s.oid AND um.usename = current_user"
        " WHERE s.srvname IN (SELECT server FROM councils WHERE server IS NOT NULL) ORDER BY s.srvname"
    ).fetchall()
    out = []
    for server, server_options, mapping in rows:
        keys = {**_options(server_options), **_options(mapping)}
        out.append((server, make_conninfo(**{k: v for k, v in keys.items() if k in _CONNINFO_KEYS})))
    return out


def check_schema(conn: Any, model: str, dimension: int) -> None:
    """Refuse (IndexLoadError, naming the fix) a database whose migrations are not exactly this
    code's, or that was made for another embedding model."""
    expected = [(m.number, m.name) for m in migrations()]
    have = _applied(conn)
    if have != expected:
        at = f"{have[-1][0]:04d}_{have[-1][1]}" if have else "no migrations"
        want = f"{expected[-1][0]:04d}_{expected[-1][1]}"
        hint = (
            "run `minutes-qa index --database-url …` with this version to migrate it"
            if len(have) < len(expected) and have == expected[: len(have)]
            else "it was migrated by another version of minutes-qa; use that version or a fresh database"
        )
        raise IndexLoadError(f"the index database schema is at {at}, this code needs {want}: {hint}")
    row = conn.execute("SELECT model, dimension FROM index_settings").fetchone()
    if row is None or (row[0], int(row[1])) != (model, int(dimension)):
        made = f"{row[0]} ({row[1]}-d)" if row else "no model"
        raise IndexLoadError(
            f"the index database was built with {made}, the service uses {model} ({dimension}-d): "
            "re-index into a fresh database or set MINUTES_QA_MODEL to the database's model"
        )


def partition_suffix(council: str) -> str:
    return "c_" + hashlib.sha256(council.encode()).hexdigest()[:12]


def ensure_partition(conn: Any, council: str) -> str:
    """The partitions of `council` in every content table (made on first use); returns the suffix.
    Run in its own short transaction: creating a partition locks its parent table."""
    from psycopg import sql

    suffix = partition_suffix(council)
    row = conn.execute("SELECT partition_suffix FROM councils WHERE council = %s", (council,)).fetchone()
    if row:
        return row[0]
    for table in CONTENT_TABLES:
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES IN ({})").format(
                sql.Identifier(f"{table}_{suffix}"), sql.Identifier(table), sql.Literal(council)
            )
        )
    conn.execute("INSERT INTO councils (council, partition_suffix) VALUES (%s, %s)", (council, suffix))
    return suffix
