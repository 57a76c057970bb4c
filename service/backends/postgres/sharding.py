"""Council partitions on other PostgreSQL servers, joined into one coordinator by postgres_fdw.

This is the test and small-deployment stand-in for Citus: each shard server holds the full schema
and, for the councils placed on it, the rows (its local partitions); the coordinator holds the same
partitioned tables whose partitions for those councils are foreign tables on the shard. Reads and
writes go to the coordinator unchanged — `minutes-qa index --database-url <coordinator>` writes
through the foreign partitions and the service ranks over all of them in the same SQL. In
production Citus plays this part (distributed tables by council, shard placement, parallel
distributed queries and two-phase commit); see docs/scaling.md.
"""

from __future__ import annotations

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from service.backends.postgres.schema import CONTENT_TABLES, connect, ensure_partition, migrate, partition_suffix


def attach_shard(
    coordinator_url: str, shard_url: str, server_name: str, councils: list[str], model: str, dim: int
) -> None:
    """Place `councils` on the shard at `shard_url`: their partitions are made there, and the
    coordinator's partitions for them become foreign tables pointing at them. Run before the
    first index of those councils (a council already holding rows on the coordinator stays there)."""
    migrate(shard_url, model, dim)
    migrate(coordinator_url, model, dim)
    with connect(shard_url) as shard:
        for council in councils:
            ensure_partition(shard, council)
            shard.commit()
    target = conninfo_to_dict(shard_url)
    options = {k: str(target[k]) for k in ("host", "port", "dbname") if target.get(k)}
    with connect(coordinator_url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        if not conn.execute("SELECT 1 FROM pg_foreign_server WHERE srvname = %s", (server_name,)).fetchone():
            opts = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v))
                for k, v in {**options, "extensions": "vector", "fetch_size": "1000"}.items()
            )
            conn.execute(
                sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({})").format(
                    sql.Identifier(server_name), opts
                )
            )
            conn.execute(
                sql.SQL("CREATE USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS (user {})").format(
                    sql.Identifier(server_name), sql.Literal(str(target.get("user") or "postgres"))
                )
            )
        for council in councils:
            if conn.execute("SELECT 1 FROM councils WHERE council = %s", (council,)).fetchone():
                continue
            suffix = partition_suffix(council)
            for table in CONTENT_TABLES:
                conn.execute(
                    sql.SQL(
                        "CREATE FOREIGN TABLE {} PARTITION OF {} FOR VALUES IN ({}) SERVER {} OPTIONS (table_name {})"
                    ).format(
                        sql.Identifier(f"{table}_{suffix}"),
                        sql.Identifier(table),
                        sql.Literal(council),
                        sql.Identifier(server_name),
                        sql.Literal(f"{table}_{suffix}"),
                    )
                )
            conn.execute(
                "INSERT INTO councils (council, partition_suffix, server) VALUES (%s, %s, %s)",
                (council, suffix, server_name),
            )
        conn.commit()
