"""The CI rule: a skipped test fails when CI is set, and only then — a test skipped while it runs,
and a whole module skipped while it is collected (`pytest.importorskip` at module level)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_needs_a_browser():
    pytest.skip("chromium is not installed")
"""

MODULE_SKIPPED = """
import pytest

pytest.importorskip("no_such_package_for_minutes_qa", reason="the [distributed] extra is not installed")


def test_needs_the_package():
    pass
"""

CASES = [
    pytest.param(SKIPPING, {"failed": 1}, "*skipped in CI*chromium is not installed*", id="test"),
    pytest.param(MODULE_SKIPPED, {"errors": 1}, "*skipped in CI*extra is not installed*", id="module"),
]


@pytest.mark.parametrize("source, outcome, message", CASES)
def test_a_skip_fails_in_ci(pytester, monkeypatch, source, outcome, message):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(source)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(**outcome)
    assert result.ret != 0
    result.stdout.fnmatch_lines([message])


@pytest.mark.parametrize("source", [SKIPPING, MODULE_SKIPPED], ids=["test", "module"])
def test_a_skip_stays_a_skip_outside_ci(pytester, monkeypatch, source):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(source)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(skipped=1)
