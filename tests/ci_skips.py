"""pytest plugin: no silent skips in CI."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """CI sets CI=true (.ci/run does, as do the common CI services)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure with its reason: a browser that could not be installed, or
    a missing optional package, must stop the build rather than let it pass without those tests."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ.get('CI')}), which is not allowed: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped while it is collected (`pytest.importorskip` at module
    level): in CI that is a collection error with its reason, not a quiet "1 skipped"."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ.get('CI')}), which is not allowed: {reason}"
