"""The page's history view, meeting pages and "Alert me" box, and the scrolling of a new answer, in
Debian Chromium (Playwright) over the history corpus with the fake embedder. The page runs under
its real CSP here (no bypass): a refused script or style would show as a console error."""

from __future__ import annotations

import json

import pytest

from tests.history_corpus import CABINET_ID, CABINET_MEETING
from tests.service.test_browser import browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = pytest.mark.browser
PANEL = "Children and Families Overview and Scrutiny Panel"


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e or "Error" in e], errors


def test_history_of_a_topic_lists_its_three_meetings_in_date_order(page, history_url):
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    page.click("#nav-history")
    page.locator("#history-view").wait_for()
    assert page.locator("#nav-history").get_attribute("aria-current") == "page"
    assert page.locator("#chat-view").is_hidden() and page.locator("#meeting-view").is_hidden()
    page.fill("#history-q", "VAT")
    page.click("#history-go")
    page.locator(".history-entry").first.wait_for()
    assert page.url == f"{history_url}/history?q=VAT"  # a permalink
    assert page.locator(".history-entry h3").all_inner_texts() == [
        f"{PANEL}, date not stated (between 10 January 2018 and 1 March 2018)",
        f"{PANEL}, 22 March 2018",
        "Cabinet, 29 March 2018",
    ]
    entries = page.locator(".history-entry")
    assert "undated" in entries.nth(0).get_attribute("class") and "placed by the dates" in entries.nth(0).inner_text()
    assert "Minute 319: 319 Alternative Delivery Model" in entries.nth(1).inner_text()
    cabinet = entries.nth(2)
    assert "the Business Case for a Wholly Owned Company be approved" in cabinet.locator(".decisions").inner_text()
    assert "discussed at 3 meetings" in page.locator("#history-status").inner_text()

    quote = cabinet.locator(".citations .quote").first.inner_text().strip("“”")
    cabinet.locator("a.cite-link").first.click()  # the quote opens in the source panel, the view stays
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-text mark").inner_text() == quote
    assert page.locator("#history-view").is_visible()

    cabinet.locator("h3 a").click()  # the meeting's page
    page.locator("#meeting-heading", has_text="Cabinet, 29 March 2018").wait_for()
    assert page.url == f"{history_url}/meetings/{CABINET_MEETING}"
    assert page.locator("#history-view").is_hidden() and page.locator("#chat-view").is_hidden()
    page.go_back()  # to the quote, opened from the history: the history is back beside it
    page.locator(".history-entry").first.wait_for()
    assert page.locator(".history-entry").count() == 3 and page.locator("#history-q").input_value() == "VAT"
    assert page.locator("#source-text mark").inner_text() == quote
    page.go_back()
    page.locator("#source").wait_for(state="hidden")
    page.locator(".history-entry").nth(2).wait_for()  # the view may re-render after the back step
    assert page.url == f"{history_url}/history?q=VAT" and page.locator(".history-entry").count() == 3


def test_history_permalink_carries_its_filters(page, history_url):
    page.goto(f"{history_url}/history?q=VAT&body=Cabinet")
    page.locator(".history-entry").first.wait_for()
    assert page.locator(".history-entry h3").all_inner_texts() == ["Cabinet, 29 March 2018"]
    assert page.locator("#f-body").input_value() == "Cabinet"


def test_meeting_page_shows_attendance_items_decisions_and_papers(page, history_url):
    page.goto(f"{history_url}/meetings/{CABINET_MEETING}")
    page.locator(".meeting-items li").first.wait_for()
    body = page.locator("#meeting-body").inner_text()
    for expected in ("Mr S E Geraghty", "Mr J Smith and Mrs L Hodgson", "11.40 am", "Cabinet minutes, 29 March 2018"):
        assert expected in body
    items = page.locator(".meeting-items > li")
    assert items.count() == 4  # two minutes of the Cabinet's minutes, two items of its report
    assert "Highways report, 29 March 2018" in page.locator(".papers").inner_text()
    assert "the Business Case for a Wholly Owned Company be approved" in items.nth(1).inner_text()
    items.nth(1).locator("a.item-link").click()  # the item opens in the source view
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-text mark").inner_text().startswith("1839 Business Case Approval")
    assert page.url.startswith(f"{history_url}/documents/{CABINET_ID}#")


def test_a_citation_links_to_its_meeting_page(page, history_url):
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    page.fill("#question", "How much money was required to set up the Company?")
    page.keyboard.press("Enter")
    answer = page.locator(".turn-a:not(.muted)").first
    answer.wait_for()
    answer.locator(".citations a.meeting-link").first.click()
    page.locator("#meeting-heading", has_text=f"{PANEL}, 22 March 2018").wait_for()
    assert "Mrs F M Oborski" in page.locator("#meeting-body").inner_text()


def _answer(text: str, abstained: bool, n_citations: int) -> dict:
    citation = {
        "document_id": "panel-minutes-2018-03-22",
        "title": "Test Panel minutes",
        "body": PANEL,
        "meeting_date": "2018-03-22",
        "section": "319 Alternative Delivery Model",
        "item": "319",
        "quote": "The expectation would be that the ADM would go live on 1 April 2019. " * 3,
        "start": 591,
        "end": 659,
        "url": "/documents/panel-minutes-2018-03-22#591-659",
        "score": 0.5,
    }
    cited = [{**citation, "n": i} for i in range(1, n_citations + 1)]
    return {
        "answer": text,
        "abstained": abstained,
        "confidence": 0.2 if abstained else 0.8,
        "query": "q",
        "citations": [] if abstained else cited,
        "related": cited if abstained else [],
        "took_ms": 1.0,
        "answer_span": None,
        "explain": None,
    }


def test_the_newest_answer_ends_above_the_question_box(page, history_url):
    # /ask is answered by the test (a long answer, then an abstention), so only the layout is tested.
    replies = [
        _answer(" ".join(["The Panel discussed the business case at length [1]."] * 40), False, 3),
        _answer("The papers don't cover this.", True, 3),
        _answer("Short answer [1].", False, 1),
    ]
    page.route("**/ask", lambda route: route.fulfill(content_type="application/json", body=json.dumps(replies.pop(0))))
    page.set_viewport_size({"width": 1280, "height": 600})
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    for i, check in enumerate(["long", "abstention", "short"]):
        page.fill("#question", f"question {i}")
        page.keyboard.press("Enter")
        page.locator(".turn-a:not(.muted)").nth(i).wait_for()
        answer = page.locator(".turn-a").nth(i).bounding_box()
        box = page.locator("#ask-form").bounding_box()
        assert answer["y"] + answer["height"] <= box["y"], f"{check}: the question box covers the answer's end"
        assert answer["y"] + answer["height"] > 0
    assert "abstained" in page.locator(".turn-a").nth(1).get_attribute("class")


def _alerts_api(page, require_token: str | None = None) -> dict:
    """Answer /alerts as the alerts API's contract says (POST 201, GET list, DELETE 204, 401 when a
    token is required and missing); records what the page sent."""
    seen: dict = {"alerts": [], "posted": [], "deleted": [], "auth": []}

    def handle(route):
        request = route.request
        auth = request.headers.get("authorization")
        seen["auth"].append(auth)
        if require_token and auth != f"Bearer {require_token}":
            body = {"error": {"code": "unauthorized", "message": "a valid admin token is required"}}
            return route.fulfill(status=401, content_type="application/json", body=json.dumps(body))
        if request.method == "GET":
            return route.fulfill(content_type="application/json", body=json.dumps(seen["alerts"]))
        if request.method == "POST":
            sent = json.loads(request.post_data)
            seen["posted"].append(sent)
            alert = {
                **sent,
                "id": "a1",
                "created": "2026-12-08T10:00:00Z",
                "feed_url": "/alerts/a1.atom",
                "url": "/alerts/a1",
                "match_count": 2,
            }
            seen["alerts"].append(alert)
            return route.fulfill(status=201, content_type="application/json", body=json.dumps(alert))
        if request.method == "DELETE":
            seen["deleted"].append(request.url.rsplit("/", 1)[-1])
            seen["alerts"].clear()
            return route.fulfill(status=204, body="")
        return route.fulfill(status=405)

    page.route("**/alerts", handle)
    page.route("**/alerts/*", handle)
    return seen


def test_alert_me_saves_lists_and_deletes_an_alert(page, history_url):
    seen = _alerts_api(page)
    page.goto(f"{history_url}/history?q=VAT")
    page.locator("#alert-box").wait_for()
    assert page.locator("#alert-topic").inner_text() == "“VAT”"
    page.fill("#alert-title", "VAT watch")
    page.fill("#alert-webhook", "https://hooks.example.org/vat")
    page.click("#alert-save")
    page.locator("#alert-status a.feed-link").wait_for()
    assert seen["posted"] == [
        {"query": "VAT", "filters": {}, "webhook_url": "https://hooks.example.org/vat", "title": "VAT watch"}
    ]
    line = page.locator(".alert-line")
    line.wait_for()
    assert "VAT watch" in line.inner_text() and "2 matching passages" in line.inner_text()
    assert line.locator("a.feed-link").get_attribute("href") == "/alerts/a1.atom"
    line.locator("button.alert-delete").click()
    page.locator("#alert-status", has_text="Deleted").wait_for()
    assert seen["deleted"] == ["a1"]
    page.locator("#alert-list li", has_text="No alerts saved yet").wait_for()


def test_alert_me_asks_for_the_admin_token_when_the_server_wants_one(page, history_url):
    seen = _alerts_api(page, require_token="s3cret")
    page.goto(f"{history_url}/history?q=VAT&body=Cabinet")
    page.locator("#alert-token-row").wait_for()  # the list answered 401: the page asks for the token
    page.click("#alert-save")
    page.locator("#alert-status", has_text="admin token").wait_for()
    assert seen["posted"] == []
    page.fill("#alert-token", "s3cret")
    page.click("#alert-save")
    page.locator("#alert-status a.feed-link").wait_for()
    assert seen["posted"][0]["filters"] == {"body": "Cabinet"}
    assert seen["auth"][-1] == "Bearer s3cret"
    assert page.evaluate("() => sessionStorage.getItem('minutes-qa-admin-token')") == "s3cret"


def test_alert_me_against_the_real_alerts_api(page, history_url):
    """No mock: the page saves an alert through the service's own /alerts, its feed is served, and
    deleting it in the page removes it."""
    import httpx

    page.goto(f"{history_url}/history?q=VAT")
    page.locator("#alert-box").wait_for()
    page.fill("#alert-title", "VAT watch (real)")
    page.click("#alert-save")
    page.locator("#alert-status a.feed-link").wait_for()
    mine = [a for a in httpx.get(f"{history_url}/alerts").json() if a["title"] == "VAT watch (real)"]
    assert len(mine) == 1 and mine[0]["query"] == "VAT"  # (matches: the fake embedder means nothing)
    feed = httpx.get(f"{history_url}{mine[0]['feed_url']}")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    page.locator(".alert-line", has_text="VAT watch (real)").locator("button.alert-delete").click()
    page.locator("#alert-status", has_text="Deleted").wait_for()
    assert httpx.get(f"{history_url}/alerts/{mine[0]['id']}").status_code == 404


def _pick_body(page, body: str) -> None:
    page.locator("#filters summary").click()  # the filters sit in a closed <details>
    page.select_option("#f-body", body)


def test_a_history_without_filters_clears_them_so_the_alert_matches_the_list(page, history_url):
    """Back from a filtered history to an unfiltered one: the filter inputs follow the URL, so "Alert
    me" saves the filters of the list on the page, not those of the page before."""
    seen = _alerts_api(page)
    page.goto(f"{history_url}/history?q=VAT")
    page.locator(".history-entry").nth(2).wait_for()
    _pick_body(page, "Cabinet")
    page.click("#history-go")
    page.wait_for_url(f"{history_url}/history?q=VAT&body=Cabinet")
    page.locator("#history-status", has_text="discussed at 1 meeting,").wait_for()  # the filtered list is in
    assert page.locator(".history-entry h3").all_inner_texts() == ["Cabinet, 29 March 2018"]

    page.go_back()
    page.locator("#history-status", has_text="discussed at 3 meetings").wait_for()
    assert page.url == f"{history_url}/history?q=VAT" and page.locator("#f-body").input_value() == ""
    page.click("#alert-save")
    page.locator("#alert-status a.feed-link").wait_for()
    assert seen["posted"][-1]["filters"] == {}


def test_the_answers_history_link_carries_the_filters(page, history_url):
    reply = json.dumps(_answer("VAT was discussed [1].", False, 1))
    page.route("**/ask", lambda route: route.fulfill(content_type="application/json", body=reply))
    page.goto(history_url)
    page.wait_for_selector("#starters button")
    _pick_body(page, "Cabinet")
    page.fill("#question", "What was said about VAT?")
    page.keyboard.press("Enter")
    link = page.locator(".turn-a a.history-link")
    link.wait_for()
    assert link.get_attribute("href") == "/history?q=q&body=Cabinet"  # `q` is the answer's query
    link.click()
    page.locator("#history-status", has_text="“q”").wait_for()  # the history of the answer's query has loaded
    assert page.url == f"{history_url}/history?q=q&body=Cabinet" and page.locator("#f-body").input_value() == "Cabinet"


@pytest.fixture(scope="module")
def token_url(tmp_path_factory):
    """A live server over the history corpus with an admin token set (so listing alerts needs it)."""
    from tests.service.conftest import history_server

    with history_server(tmp_path_factory, admin_token="s3cret") as url:
        yield url


def test_alert_me_with_the_real_api_behind_a_token(page, token_url):
    """No mock: the list answers 401 until the token is entered; entering it lists the alerts, and
    saving with it works."""
    import httpx

    page.goto(f"{token_url}/history?q=VAT")
    page.locator("#alert-token-row").wait_for()  # GET /alerts answered 401
    assert "admin token" in page.locator("#alert-list").inner_text()
    page.fill("#alert-token", "s3cret")
    page.locator("#alert-token").dispatch_event("change")
    page.locator("#alert-list li", has_text="No alerts saved yet").wait_for()
    page.fill("#alert-title", "VAT behind a token")
    page.click("#alert-save")
    page.locator("#alert-status a.feed-link").wait_for()
    page.locator(".alert-line", has_text="VAT behind a token").wait_for()
    assert httpx.get(f"{token_url}/alerts").status_code == 401
    listed = httpx.get(f"{token_url}/alerts", headers={"authorization": "Bearer s3cret"}).json()
    assert [a["title"] for a in listed] == ["VAT behind a token"]
    assert httpx.get(f"{token_url}{listed[0]['feed_url']}").status_code == 200  # a feed stays open
