"""The /ask contract and the other endpoints, on the fixture corpus with the fake embedder — each
test twice: served from the index folder, and from PostgreSQL + pgvector (MINUTES_QA_DATABASE_URL)."""

import pytest


@pytest.fixture(params=["index folder", "PostgreSQL"])
def client(request, app_settings, corpus_dir, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app

    settings = app_settings
    if request.param == "PostgreSQL":
        from service.backends.postgres.writer import index_database

        url = request.getfixturevalue("database_url")
        index_database(corpus_dir, url, fake_embedder)
        settings = app_settings.model_copy(update={"database_url": url})
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        yield c


def _doc_text(client, doc_id):
    return client.get(f"/documents/{doc_id}").json()["text"]


def assert_citations_exact(client, payload):
    texts = {}
    for c in payload["citations"] + payload["related"]:
        text = texts.setdefault(c["document_id"], _doc_text(client, c["document_id"]))
        assert text[c["start"] : c["end"]] == c["quote"]
        assert c["url"] == f"/documents/{c['document_id']}#{c['start']}-{c['end']}"


def test_ask_returns_the_contract_shape_with_exact_citations(open_cut, client):
    r = client.post("/ask", json={"question": "How much money was required to set up the Company?"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "answer",
        "abstained",
        "confidence",
        "query",
        "citations",
        "related",
        "took_ms",
        "answer_span",
        "explain",
    }
    assert body["explain"] is None  # only on request
    assert not body["abstained"] and 0 <= body["confidence"] <= 1
    assert "£4.6 million" in body["answer"]
    c = body["citations"][0]
    assert c["document_id"] == "panel-minutes-2018-03-22" and c["item"] == "319"
    assert c["meeting_date"] == "2018-03-22" and c["body"] == "Children and Families Overview and Scrutiny Panel"
    assert_citations_exact(client, body)


def test_table_question_quotes_the_row_and_names_the_cells(client):
    body = client.post(
        "/ask", json={"question": "What percentage of total possible did the Wholly Owned Council Company get?"}
    ).json()
    assert "83%" in body["answer"]
    assert body["citations"][0]["quote"] == "Wholly Owned Council Company\t1810\t83%\t1"
    assert_citations_exact(client, body)


def test_follow_up_uses_the_history_and_reports_the_query(client):
    body = client.post(
        "/ask",
        json={
            "question": "And the Joint Venture?",
            "history": [
                {
                    "role": "user",
                    "content": "What percentage of total possible did the Wholly Owned Council Company get?",
                },
                {"role": "assistant", "content": "83%"},
            ],
        },
    ).json()
    assert body["query"] == "What percentage of total possible did the Joint Venture get?"
    assert "63%" in body["answer"]


def test_filters_restrict_the_papers(client):
    body = client.post(
        "/ask", json={"question": "Wholly Owned Company", "filters": {"document_id": "web-minutes"}}
    ).json()
    assert all(c["document_id"] == "web-minutes" for c in body["citations"] + body["related"])
    body = client.post("/ask", json={"question": "Wholly Owned Company", "filters": {"date_from": "2018-01-01"}}).json()
    assert all(c["meeting_date"] >= "2018-01-01" for c in body["citations"] + body["related"])


def test_search_lists_ranked_passages(client):
    r = client.get("/search", params={"q": "VAT liable", "k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert 1 <= len(results) <= 3 and "VAT" in results[0]["quote"]


def test_documents_meetings_and_health(client):
    docs = client.get("/documents").json()
    assert [d["id"] for d in docs][0] == "options-analysis-2017-12-14"  # date order, undated last
    assert docs[-1]["meeting_date"] is None
    doc = client.get("/documents/panel-minutes-2018-03-22").json()
    titles = [s["title"] for s in doc["sections"]]
    assert "319 Alternative Delivery Model" in titles
    s = doc["sections"][titles.index("319 Alternative Delivery Model")]
    assert doc["text"][s["start"] : s["end"]].startswith("319 Alternative Delivery Model")
    meetings = client.get("/meetings").json()
    panel = next(m for m in meetings if m["meeting_date"] == "2018-03-22")
    assert [i["number"] for i in panel["items"]] == ["318", "319"]
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["documents"] == 3 and health["chunks"] > 5


def test_document_permalink_serves_the_page_to_browsers(client):
    r = client.get("/documents/panel-minutes-2018-03-22", headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_literal_markup_in_a_paper_is_returned_as_text(client):
    text = _doc_text(client, "panel-minutes-2018-03-22")
    assert "<script>alert('x')</script>" in text and "<img src=x onerror=alert(1)>" in text
