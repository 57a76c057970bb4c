"""A paper containing <script> and <img onerror> is shown literally and nothing runs."""

import shutil

import pytest

from tests.live_server import live_server

pytestmark = pytest.mark.browser


def test_markup_in_a_paper_is_shown_as_text(app_settings, fake_embedder):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian chromium is not installed (make browser-deps installs it as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    from service.api import create_app

    with live_server(create_app(app_settings, embedder=fake_embedder)) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url + "/documents/panel-minutes-2018-03-22")
        sync_api.expect(page.locator("#source-text")).to_contain_text("The meeting ended")
        text = page.locator("#source-text").inner_text()
        assert "<script>alert('x')</script>" in text and "<img src=x onerror=alert(1)>" in text
        assert page.locator("#source-text script, #source-text img").count() == 0
        page.fill("#question", "What did the resident write in a letter?")
        page.keyboard.press("Enter")
        page.wait_for_selector(".turn-a:not(.muted)")
        assert page.locator(".log script, .log img").count() == 0
        assert dialogs == []
        browser.close()
