"""Fixtures of the ModernGov fetcher's tests (test_moderngov.py, test_moderngov_cli.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_moderngov import FakeModernGov


@pytest.fixture
def site() -> Iterator[FakeModernGov]:
    """The local fake ModernGov site, on 127.0.0.1 for one test."""
    with FakeModernGov() as fake:
        yield fake


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Where a test's fetch writes (created by the fetch)."""
    return tmp_path / "corpus"
