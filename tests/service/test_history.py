"""GET /history: every meeting whose papers discuss a topic, oldest first, with verbatim quotes,
the item they sit under and the decisions recorded there."""

from __future__ import annotations

from service.history import MIN_MEANING, MIN_RELEVANCE, ScoredSpan
from tests.history_corpus import CABINET_ID, CABINET_MEETING, PANEL_MEETING, UNDATED_MEETING, VAT_MEETINGS


def test_meetings_that_discussed_the_topic_in_date_order(history_client):
    r = history_client.get("/history", params={"q": "VAT"})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "VAT"
    assert [m["id"] for m in body["meetings"]] == VAT_MEETINGS
    undated, panel, cabinet = body["meetings"]
    assert undated["undated"] and undated["meeting_date"] is None and undated["order_date"] == "2018-02-04"
    assert not panel["undated"] and panel["meeting_date"] == "2018-03-22"
    assert panel["item"] == "319" and panel["item_title"] == "319 Alternative Delivery Model"
    assert cabinet["item"] == "1839" and cabinet["url"] == f"/meetings/{CABINET_MEETING}"
    # the decision recorded under minute 1839, not the one under 1838
    assert [d["value"] for d in cabinet["decisions"]] == ["the Business Case for a Wholly Owned Company be approved"]
    assert "DfE would meet the VAT costs" in cabinet["quotes"][0]["quote"]
    assert "liable for VAT" in panel["quotes"][0]["quote"]


def test_quotes_are_exact_spans_numbered_in_order(history_client):
    meetings = history_client.get("/history", params={"q": "VAT"}).json()["meetings"]
    quotes = [c for m in meetings for c in m["quotes"]]
    assert [c["n"] for c in quotes] == list(range(1, len(quotes) + 1))
    for m in meetings:
        assert 1 <= len(m["quotes"]) <= 2
    texts: dict[str, str] = {}
    for c in quotes:
        text = texts.setdefault(c["document_id"], history_client.get(f"/documents/{c['document_id']}").json()["text"])
        assert text[c["start"] : c["end"]] == c["quote"]
        assert c["url"] == f"/documents/{c['document_id']}#{c['start']}-{c['end']}"


def test_a_topic_no_paper_discusses_lists_no_meeting(history_client):
    assert history_client.get("/history", params={"q": "parking charges at libraries"}).json()["meetings"] == []


def test_filters_apply_as_they_do_to_search(history_client):
    body = history_client.get("/history", params={"q": "VAT", "body": "Cabinet"}).json()
    assert [m["id"] for m in body["meetings"]] == [CABINET_MEETING]
    body = history_client.get("/history", params={"q": "VAT", "date_to": "2018-03-25"}).json()
    # the undated briefing lies wholly before 25 March (its bounds), so a date filter keeps it
    assert [m["id"] for m in body["meetings"]] == [UNDATED_MEETING, PANEL_MEETING]
    body = history_client.get("/history", params={"q": "VAT", "document_id": CABINET_ID}).json()
    assert [m["id"] for m in body["meetings"]] == [CABINET_MEETING]


def test_bad_input_is_refused_in_the_shared_shape(history_client):
    cases = [
        ({}, 422, "empty_question"),
        ({"q": "   "}, 422, "empty_question"),
        ({"q": "x" * 2001}, 422, "invalid_request"),
        ({"q": "VAT", "body": "Parish Pump Club"}, 422, "unknown_filter_value"),
        ({"q": "VAT", "date_from": "2018-05-01", "date_to": "2018-01-01"}, 422, "bad_date_range"),
        ({"q": "VAT", "date_from": "yesterday"}, 422, "invalid_request"),
    ]
    for params, status, code in cases:
        r = history_client.get("/history", params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), params


def test_a_browser_asking_for_html_gets_the_page(history_client):
    r = history_client.get("/history", params={"q": "VAT"}, headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    r = history_client.get("/history", params={"q": "VAT"}, headers={"accept": "application/json"})
    assert r.headers["content-type"] == "application/json" and r.headers["vary"] == "Accept"


def test_the_floor_needs_the_topic_words_or_a_close_meaning():
    def span(cover: float, meaning: float) -> ScoredSpan:
        return ScoredSpan("d", 0, 0, 1, cover, meaning)

    assert span(1.0, 0.0).passes()  # every word of the topic
    assert span(0.5, MIN_RELEVANCE - 0.5).passes()  # the weightier half, and close in meaning
    assert not span(0.5, MIN_RELEVANCE - 0.5 - 0.01).passes()
    assert span(0.0, MIN_MEANING).passes()  # a paraphrase
    assert not span(0.16, 0.40).passes()  # "bus services" on the real corpus: no paper discusses buses


def test_each_papers_facts_are_read_once(history_settings, fake_embedder, monkeypatch):
    from service import history
    from service.engine import Engine
    from service.index import load_index

    engine = Engine(load_index(history_settings.index_dir, fake_embedder))
    calls: list[str] = []
    real = history.document_facts

    def counting(index, doc_id):
        calls.append(doc_id)
        return real(index, doc_id)

    monkeypatch.setattr(history, "document_facts", counting)
    meetings = history.topic_history(engine, "Company")
    quoted = [c.document_id for m in meetings for c in m.quotes]
    assert len(quoted) > len(set(quoted))  # some paper is quoted twice: a cache that recomputes would show
    assert sorted(calls) == sorted(set(calls)) and set(calls) <= set(quoted)
    cabinet = next(m for m in meetings if m.id == CABINET_MEETING)
    assert "the Business Case for a Wholly Owned Company be approved" in [d["value"] for d in cabinet.decisions]
