"""The CI rule: a skipped test fails when CI is set, and only then."""

from __future__ import annotations

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_needs_a_browser():
    pytest.skip("chromium is not installed")
"""


def test_a_skip_fails_in_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*skipped in CI*chromium is not installed*"])


def test_a_skip_stays_a_skip_outside_ci(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(skipped=1)


MODULE_SKIPPED = """
import pytest

pytest.importorskip("no_such_package_for_minutes_qa", reason="the [distributed] extra is not installed")


def test_needs_the_package():
    pass
"""


def test_a_module_skipped_at_collection_fails_in_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(MODULE_SKIPPED)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*skipped in CI*extra is not installed*"])


def test_a_module_skipped_at_collection_stays_skipped_outside_ci(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(MODULE_SKIPPED)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-rs")
    result.assert_outcomes(skipped=1)
