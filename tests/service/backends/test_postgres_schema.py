"""The schema migrations ship with the package and a missing set is a clear error."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from indexer.store import IndexLoadError
from service.backends.postgres.schema import MIGRATIONS_DIR, migrations

REPO = Path(__file__).resolve().parents[3]


def test_no_migration_files_is_a_clear_load_error(tmp_path):
    with pytest.raises(IndexLoadError, match="no schema migrations found in .*installation is incomplete"):
        migrations(tmp_path)
    assert [m.number for m in migrations()][:1] == [1]


def test_the_wheel_takes_every_package_and_the_migrations():
    """pyproject's package list and package data against the source tree (building a wheel is
    slower: `pip wheel --no-deps .` and list it, as docs/scaling.md says)."""
    from setuptools import find_packages

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(find_packages(str(REPO), include=config["packages"]["find"]["include"]))
    for top in ("indexer", "service", "eval"):
        for init in (REPO / top).rglob("__init__.py"):
            assert ".".join(init.parent.relative_to(REPO).parts) in packages
    data = config["package-data"]
    package = "service.backends.postgres"
    shipped = [
        p.name
        for p in MIGRATIONS_DIR.iterdir()
        if any(fnmatch.fnmatch(f"migrations/{p.name}", g) for g in data[package])
    ]
    assert sorted(shipped) == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql")) and shipped
