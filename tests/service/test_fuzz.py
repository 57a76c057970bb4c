"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis), bounded in size:
no 5xx, and every response matches the documented schema."""

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from indexer.build import build_index
from tests.conftest import FIXTURE_CORPUS, FakeEmbedder


def _app():
    """Schemathesis loads the schema at import time, so the fixture index is built here (well under a second)."""
    from service.api import create_app
    from service.settings import Settings
    from service.state import EngineHolder

    root = Path(tempfile.mkdtemp(prefix="minutes-qa-fuzz-"))
    atexit.register(shutil.rmtree, root, True)
    embedder = FakeEmbedder()
    build_index(FIXTURE_CORPUS, root, embedder, progress=False)
    settings = Settings(
        index_dir=root, model=embedder.model_name, admin_token="fuzz-token", alerts_db=root / "alerts.sqlite"
    )
    app = create_app(settings, embedder=embedder)
    app.state.holder = EngineHolder(root, embedder)
    app.state.holder.load()
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_schema_conformance(case):
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
