"""WCAG 2.2 AA in a real browser: axe-core finds no violation on the empty page, an answer with its
source open, the history view and a meeting page (tests/axe.py)."""

from __future__ import annotations

import pytest

from tests.axe import assert_accessible, axe_source
from tests.history_corpus import CABINET_MEETING
from tests.service.test_browser import browser, real_url  # noqa: F401 (shared Chromium, real-corpus server)

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):  # noqa: F811
    axe_source()  # skip (fail in CI) before opening anything when axe-core is missing
    # The page's own CSP stays on: axe comes in as a same-origin script (tests/axe.py).
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_empty_page(page, history_url):
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    assert_accessible(page, "the empty chat")


def test_answer_with_its_source_open(page, history_url):
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    page.fill("#question", "How much money was required to set up the Company?")
    page.keyboard.press("Enter")
    answer = page.locator(".turn-a:not(.muted)").first
    answer.wait_for()
    answer.locator(".citations a.cite-link").first.click()
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-outline a").count() >= 2  # the outline links once failed target-size
    assert_accessible(page, "an answer with its source open")


def test_history_view(page, history_url):
    page.goto(f"{history_url}/history?q=VAT")
    page.locator(".history-entry").first.wait_for()
    page.locator("#alert-list").wait_for()  # the "Alert me" form is part of the view that is checked
    assert_accessible(page, "the history view")


def test_meeting_page(page, history_url):
    page.goto(f"{history_url}/meetings/{CABINET_MEETING}")
    page.locator(".meeting-items li").first.wait_for()
    assert_accessible(page, "a meeting page")


@pytest.mark.real_model
def test_real_answer_with_its_source_open(page, real_url):  # noqa: F811
    """The five papers: the Options Analysis outline has 130 links (42 of them once failed target-size)."""
    page.goto(real_url)
    page.wait_for_selector("#starters button")
    page.fill("#question", "What score did the Wholly Owned Council Company get?")
    page.keyboard.press("Enter")
    page.locator(".turn-a:not(.muted)").first.wait_for()
    page.locator(".answer-text a.cite-marker").first.click()
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-outline a").count() > 40
    assert_accessible(page, "an answer on the real papers with its source open")
