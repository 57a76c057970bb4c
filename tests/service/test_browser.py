"""The web chat in a real browser: Debian Chromium driven by Playwright (never `playwright install`)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.live_server import live_server

pytestmark = [pytest.mark.browser, pytest.mark.real_model]
# Screenshots go to a temporary folder so `make test` leaves the work tree clean; `make screenshots`
# sets MINUTES_QA_SCREENSHOTS=docs/screenshots to refresh the committed ones.
SHOTS = Path(os.environ.get("MINUTES_QA_SCREENSHOTS") or tempfile.mkdtemp(prefix="minutes-qa-shots-"))
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("Debian chromium is not installed (make browser-deps installs it as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def real_url(real_index_dir, real_embedder):
    from service.api import create_app
    from service.settings import Settings

    with live_server(create_app(Settings(index_dir=real_index_dir), embedder=real_embedder)) as url:
        yield url


def _ask(page, question):
    before = page.locator(".turn-a:not(.muted)").count()
    page.fill("#question", question)
    page.keyboard.press("Enter")
    page.locator(".turn-a:not(.muted)").nth(before).wait_for()  # (no JS eval: the page's CSP forbids it)
    return page.locator(".turn-a").last


def test_ask_cite_follow_up_and_abstain(browser, real_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(real_url)
    page.wait_for_selector("#starters button")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "empty-state.png"))

    answer = _ask(page, "What score did the Wholly Owned Council Company get?")
    text = answer.locator(".answer-text").inner_text()
    assert "83%" in text or "1810" in text  # "score": the percentage or the overall score, both cells of its row
    marker = answer.locator(".answer-text a.cite-marker").first  # the quote's marker, not the short answer's
    href = marker.get_attribute("href")
    assert href.startswith("/documents/wcc-cabinet-agenda-2017-12-14#")
    marker.click()
    mark = page.locator("#source-text mark")
    mark.wait_for()
    assert "1810" in mark.inner_text() and "83%" in mark.inner_text()
    assert "Options Analysis" in page.locator("#source-title").inner_text()
    assert page.locator("#source-outline li").count() > 10
    page.screenshot(path=str(SHOTS / "answer-with-source.png"))

    follow = _ask(page, "And the independent organisation?")
    assert "70%" in follow.locator(".answer-text").inner_text() or "1515" in follow.locator(".answer-text").inner_text()
    follow.locator("details.query-used summary").click()
    assert "independent organisation" in follow.locator("details.query-used p").inner_text().lower()

    out = _ask(page, "What was agreed about the county's bus services?")
    assert "abstained" in out.get_attribute("class")
    assert "don't cover" in out.inner_text()
    assert "No indexed paper mentions bus services" in out.inner_text()  # the refusal says what is missing
    assert out.locator(".citations li").count() >= 1  # related passages offered
    page.screenshot(path=str(SHOTS / "abstention.png"))

    out = _ask(page, "How much will the chair of the company board be paid?")  # a sum no paper gives
    assert "abstained" in out.get_attribute("class")
    assert "The closest passages give no sum of money" in out.inner_text()

    page.click("#new-conversation")
    assert page.locator("#log li").count() == 0
    page.close()


def test_short_answer_and_explain(browser, real_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(real_url)
    page.wait_for_selector("#starters button")
    page.check("#explain")
    answer = _ask(page, "What percentage of the total possible score did the Wholly Owned Council Company get?")
    assert answer.locator(".short-answer strong").inner_text() == "83%"
    assert answer.locator("mark.answer-span").first.inner_text() == "83%"
    explain = answer.locator("details.explain")
    assert "Decision: answered" in explain.inner_text() and "Asked for: percentage" in explain.inner_text()
    answer.locator(".short-answer a.cite-marker").click()
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-text mark").inner_text() == "83%"  # the source panel marks the short answer
    page.screenshot(path=str(SHOTS / "short-answer-explain.png"))
    page.close()


def test_permalink_reopens_the_highlighted_passage(browser, real_url):
    page = browser.new_page(viewport={"width": 390, "height": 844})  # phone width
    import httpx

    body = httpx.post(f"{real_url}/ask", json={"question": "How much will it cost to set up the company?"}).json()
    c = body["citations"][0]
    page.goto(real_url + c["url"])
    mark = page.locator("#source-text mark")
    mark.wait_for()
    assert mark.inner_text() == c["quote"]
    page.screenshot(path=str(SHOTS / "permalink-phone.png"))
    page.close()


def test_keyboard_only_use(browser, real_url):
    page = browser.new_page()
    page.goto(real_url)
    page.wait_for_selector("#starters button")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") in ("question", "")
    page.focus("#question")
    page.keyboard.type("When will the ADM go live?")
    page.keyboard.press("Enter")
    page.wait_for_selector(".turn-a:not(.muted)")
    assert "1 April 2019" in page.locator(".turn-a").last.inner_text()
    assert page.locator("label[for=question]").count() == 1
    page.close()


@pytest.mark.parametrize("width,scale,name", [(640, 2, "zoom-200"), (390, 3, "phone")])
def test_readable_at_200_percent_zoom_and_phone_width(browser, real_url, width, scale, name):
    # 200% zoom of a 1280 px window is a 640 CSS-px viewport at device scale 2. bypass_csp lets the
    # test measure layout with evaluate(); the page itself never relies on it.
    context = browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=scale, bypass_csp=True)
    page = context.new_page()
    page.goto(real_url)
    page.wait_for_selector("#starters button")
    _ask(page, "When will the ADM go live?")
    page.locator(".answer-text a.cite-marker").first.click()
    page.locator("#source-text mark").wait_for()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"horizontal scrolling at {name}: {overflow}px"
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    context.close()


def test_a_topic_history_shows_how_the_position_changed(browser, real_url):
    """The real papers: the VAT question moves from "would not be liable" (the panel's undated
    presentation) to "liable, but the DfE would meet these costs" (minute 319), in date order; the
    meeting's page lists its chair and items."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{real_url}/history?q=VAT")
    page.locator(".history-entry").first.wait_for()
    headings = page.locator(".history-entry h3").all_inner_texts()
    assert headings[0].startswith("Council, 18 October 2017"), headings
    panel = next(i for i, h in enumerate(headings) if h.endswith("22 March 2018"))
    undated = next(i for i, h in enumerate(headings) if "date not stated" in h)
    assert undated < panel < next(i for i, h in enumerate(headings) if h == "Cabinet, 29 March 2018")
    entries = page.locator(".history-entry")
    assert "would not be liable for VAT" in entries.nth(undated).inner_text()
    assert "the DfE would meet these costs" in entries.nth(panel).inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "topic-history.png"))

    entries.nth(panel).locator("h3 a").click()
    page.locator("#meeting-heading", has_text="22 March 2018").wait_for()
    body = page.locator("#meeting-body").inner_text()
    assert "319" in body and "Alternative Delivery Model" in body
    page.screenshot(path=str(SHOTS / "meeting-page.png"))
