"""A few seconds of concurrent load against a live server: zero errors (figures live in bench/)."""

import asyncio

from bench.load import run_load
from tests.live_server import live_server


def test_short_load_has_no_errors(app_settings, fake_embedder):
    from service.api import create_app

    with live_server(create_app(app_settings, embedder=fake_embedder)) as url:
        result = asyncio.run(run_load(url, clients=8, seconds=3))
    assert result["requests"] > 20
    assert result["errors"] == 0, result["error_kinds"]


def test_load_tool_refuses_non_loopback_targets():
    import pytest

    with pytest.raises(SystemExit, match="loopback"):
        asyncio.run(run_load("http://10.0.0.1:8000", clients=1, seconds=1))
