"""/alerts over HTTP: the shared error shape (404/422/401), the admin token only when one is set,
deletion, webhook URLs hidden from open reads, and the Atom feed's escaping of quoted markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from service.alerts.atom import render_feed
from service.alerts.models import Alert, Match
from tests.service.test_alerts_end_to_end import ATOM, parse_feed

AUTH = {"authorization": "Bearer test-token"}
VAT = {"query": "VAT liability", "threshold": 0.1}


def _save(client: TestClient, body: dict, headers: dict | None = None) -> dict:
    r = client.post("/alerts", json=body, headers=AUTH if headers is None else headers)
    assert r.status_code == 201, r.text
    return r.json()


def _error(r) -> tuple[int, str]:
    assert set(r.json()) == {"error"} and r.json()["error"]["message"]
    return r.status_code, r.json()["error"]["code"]


BAD_BODIES = [
    ({"query": ""}, "invalid_request"),
    ({"query": "   "}, "empty_question"),
    ({"query": "x" * 301}, "invalid_request"),
    ({"query": "VAT", "colour": "red"}, "invalid_request"),
    ({"query": "VAT\x07"}, "invalid_request"),
    ({"query": "VAT", "webhook_url": "ftp://example.org/hook"}, "invalid_request"),
    ({"query": "VAT", "webhook_url": "javascript:alert(1)"}, "invalid_request"),
    ({"query": "VAT", "webhook_url": "https://user:secret@example.org/hook"}, "invalid_request"),
    ({"query": "VAT", "webhook_url": "http://127.0.0.1:abc/"}, "invalid_request"),  # httpx.InvalidURL: the port
    ({"query": "VAT", "webhook_url": "http://\u2488.example/"}, "invalid_request"),  # not a valid IDNA host name
    ({"query": "VAT", "title": "two\nlines"}, "invalid_request"),
    ({"query": "the of and"}, "empty_question"),  # no searchable word: could never match
    ({"query": "VAT", "threshold": 1.5}, "invalid_request"),
    ({"query": "VAT", "filters": {"colour": "red"}}, "invalid_request"),
    ({"query": "VAT", "filters": {"document_id": "nope"}}, "unknown_filter_value"),
    ({"query": "VAT", "filters": {"body": "Parish Pump Club"}}, "unknown_filter_value"),
    ({"query": "VAT", "filters": {"date_from": "2018-05-01", "date_to": "2018-01-01"}}, "bad_date_range"),
]


@pytest.mark.parametrize("body,code", BAD_BODIES)
def test_bad_input_is_refused_in_the_shared_shape_and_saves_nothing(client, body, code):
    assert _error(client.post("/alerts", json=body, headers=AUTH)) == (422, code)
    assert client.get("/alerts", headers=AUTH).json() == []


def test_a_query_of_stop_words_only_says_it_has_no_searchable_words(client):
    r = client.post("/alerts", json={"query": "the of and"}, headers=AUTH)
    assert "no searchable words" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
    ],
)
def test_webhooks_to_non_public_addresses_are_refused_by_default(client, url):
    r = client.post("/alerts", json={**VAT, "webhook_url": url}, headers=AUTH)
    assert _error(r) == (422, "invalid_request")
    assert "non-public address" in r.json()["error"]["message"]
    assert client.get("/alerts", headers=AUTH).json() == []


def test_webhooks_to_private_addresses_are_saved_when_allowed(app_settings, fake_embedder):
    from service.api import create_app

    settings = app_settings.model_copy(update={"alert_webhook_allow_private": True})
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        assert _save(c, {**VAT, "webhook_url": "http://127.0.0.1:8080/hook"})["webhook_url"].startswith("http://127")


@pytest.mark.parametrize("blank", ["", [""], ["", "   "]])
def test_a_blank_filter_value_is_no_filter(client, blank):
    unfiltered = _save(client, VAT)
    alert = _save(client, {**VAT, "filters": {"body": blank}})
    assert alert["filters"]["body"] is None and alert["match_count"] == unfiltered["match_count"] > 0
    both = _save(client, {**VAT, "filters": {"body": ["", "Children and Families Overview and Scrutiny Panel"]}})
    assert both["filters"]["body"] == ["Children and Families Overview and Scrutiny Panel"]


def test_unknown_ids_are_404_alert_not_found(client):
    for method, path in (("get", "/alerts/nope"), ("get", "/alerts/nope.atom"), ("delete", "/alerts/nope")):
        assert _error(client.request(method, path, headers=AUTH)) == (404, "alert_not_found")


def test_saving_and_deleting_need_the_token_when_one_is_set(client):
    alert = _save(client, VAT)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "test-token-but-longer"}):
        r = client.post("/alerts", json=VAT, headers=headers)
        assert _error(r) == (401, "unauthorized") and r.headers["www-authenticate"] == "Bearer"
        assert _error(client.delete(alert["url"], headers=headers)) == (401, "unauthorized")
        r = client.get("/alerts", headers=headers)  # the list holds every alert's id: not open
        assert _error(r) == (401, "unauthorized") and r.headers["www-authenticate"] == "Bearer"
    assert [a["id"] for a in client.get("/alerts", headers=AUTH).json()] == [alert["id"]]
    assert client.get(alert["url"]).status_code == 200 and client.get(alert["feed_url"]).status_code == 200  # open


def test_without_a_token_saving_and_deleting_are_open(app_settings, fake_embedder):
    from service.api import create_app

    with TestClient(create_app(app_settings.model_copy(update={"admin_token": None}), embedder=fake_embedder)) as c:
        alert = _save(c, {**VAT, "webhook_url": "https://hooks.example.org/T0/secret"}, headers={})
        assert c.get(alert["url"]).json()["webhook_url"] == "https://hooks.example.org/T0/secret"
        assert [a["id"] for a in c.get("/alerts").json()] == [alert["id"]]  # the list is open too
        assert c.delete(alert["url"]).status_code == 204


def test_open_reads_show_only_the_webhook_host_when_a_token_is_set(client):
    alert = _save(client, {**VAT, "webhook_url": "https://hooks.example.org/T0/secret"})
    assert alert["webhook_url"] == "https://hooks.example.org/T0/secret"  # the saver sent the token
    assert client.get(alert["url"]).json()["webhook_url"] == "https://hooks.example.org/…"
    assert client.get(alert["url"], headers=AUTH).json()["webhook_url"] == "https://hooks.example.org/T0/secret"


def test_the_alert_object_and_list_order(client):
    first = _save(client, {**VAT, "filters": {"body": "Children and Families Overview and Scrutiny Panel"}})
    second = _save(client, {"query": "Wholly Owned Company", "title": "Company"})
    assert first["id"] != second["id"] and len(first["id"]) >= 20  # secrets.token_urlsafe(16)
    assert first["feed_url"] == f"/alerts/{first['id']}.atom" and first["url"] == f"/alerts/{first['id']}"
    assert first["filters"]["body"] == ["Children and Families Overview and Scrutiny Panel"]
    assert (first["threshold"], second["threshold"]) == (0.1, 0.45)  # the alert's own, or the default
    assert second["title"] == "Company" and second["webhook_url"] is None
    assert first["last_checked_version"] == client.get("/healthz").json()["index_version"]
    assert [a["id"] for a in client.get("/alerts", headers=AUTH).json()] == [second["id"], first["id"]]  # newest
    matches = client.get(first["url"]).json()["matches"]
    assert matches and all(m["baseline"] and m["document_id"] == "panel-minutes-2018-03-22" for m in matches)
    assert first["match_count"] == len(matches)


def test_deleting_an_alert_removes_its_view_and_feed(client):
    keep, doomed = _save(client, VAT), _save(client, VAT)
    assert client.delete(doomed["url"], headers=AUTH).status_code == 204
    assert _error(client.get(doomed["feed_url"])) == (404, "alert_not_found")
    assert _error(client.get(doomed["url"])) == (404, "alert_not_found")
    assert _error(client.delete(doomed["url"], headers=AUTH)) == (404, "alert_not_found")
    assert [a["id"] for a in client.get("/alerts", headers=AUTH).json()] == [keep["id"]]


def test_a_changed_passage_is_new_and_its_markup_is_escaped_in_the_feed(
    client, app_settings, corpus_dir, fake_embedder
):
    """The fixture quotes a resident's <script> and <img> tags; when that passage changes, the feed
    carries the new text verbatim (escaped by the serializer, read back identical by an XML parser)."""
    alert = _save(client, {"query": "resident letter", "threshold": 0.1})
    before = {m["text"] for m in client.get(alert["url"]).json()["matches"]}
    assert any("<script>" in t for t in before)
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text().replace("in a letter.", "in a letter & a postcard."))
    build_index(corpus_dir, app_settings.index_dir, fake_embedder, progress=False)
    assert client.post("/admin/reload", headers=AUTH).json()["reloaded"] is True

    r = client.get(alert["feed_url"])
    _, entries = parse_feed(r.content)
    changed = "A resident wrote <script>alert('x')</script> and <img src=x onerror=alert(1)> in a letter & a postcard."
    assert [e["content"].split("\n\n")[0] for e in entries] == [changed]
    assert b"<script>" not in r.content and b"&lt;script&gt;" in r.content and b"&amp; a postcard" in r.content
    new = [m for m in client.get(alert["url"]).json()["matches"] if not m["baseline"]]
    assert [m["text"] for m in new] == [changed]


def test_feed_escapes_markup_and_replaces_what_xml_cannot_carry():
    text = 'Costs <£5m> & "fees" ]]> <![CDATA[x]]> end\x0c\x01'
    alert = Alert("abc", "costs & <fees>", {}, "A & <B>", None, None, "2026-01-01T00:00:00.000000+00:00")
    found = "2026-01-02T00:00:00.000000+00:00"
    where = ("Cabinet", "2018-03-29", "7", None)  # body, meeting date, item, section
    match = Match("k" * 64, found, "v1", "doc", "Paper <1>", *where, text, 10, 20, 0.5, False)
    baseline = Match("b" * 64, found, "v1", "doc", "Paper", None, None, None, None, "old", 0, 3, 0.9, True)
    feed, entries = parse_feed(render_feed(alert, [match, baseline], "https://qa.example.gov.uk/"))
    assert feed.findtext(f"{ATOM}title") == "A & <B>"
    assert feed.findtext(f"{ATOM}updated") == found
    self_link = next(link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self")
    assert self_link.get("href") == "https://qa.example.gov.uk/alerts/abc.atom"
    assert len(entries) == 1  # the baseline match is not announced
    (entry,) = entries
    quoted = 'Costs <£5m> & "fees" ]]> <![CDATA[x]]> end\ufffd\ufffd'  # what XML 1.0 cannot carry is replaced
    assert entry["content"] == f"{quoted}\n\nCabinet, 29 March 2018, item 7"
    assert entry["href"] == "https://qa.example.gov.uk/documents/doc#10-20"
    assert entry["id"] == f"tag:minutes-qa,2026-01-01:alerts/abc/{'k' * 64}"
    assert entry["title"].startswith("Paper <1>: Costs <£5m>")


def test_an_empty_feed_is_still_a_valid_feed():
    alert = Alert("abc", "VAT", {}, None, None, None, "2026-01-01T00:00:00.000000+00:00")
    feed, entries = parse_feed(render_feed(alert, [], "http://localhost:8000"))
    assert entries == [] and feed.findtext(f"{ATOM}updated") == alert.created
    assert ET.tostring(feed.find(f"{ATOM}title"), encoding="unicode").endswith(">minutes-qa alert: VAT</title>")


def test_saving_beyond_the_limit_is_refused_until_one_is_deleted(app_settings, fake_embedder):
    from service.api import create_app

    settings = app_settings.model_copy(update={"alert_max_count": 2})
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        first = _save(c, VAT)
        _save(c, {**VAT, "title": "second"})
        r = c.post("/alerts", json={**VAT, "title": "third"}, headers=AUTH)
        assert _error(r) == (409, "alert_limit_reached") and "delete one" in r.json()["error"]["message"]
        assert len(c.get("/alerts", headers=AUTH).json()) == 2  # nothing half-saved
        assert c.delete(f"/alerts/{first['id']}", headers=AUTH).status_code == 204
        _save(c, {**VAT, "title": "third"})
