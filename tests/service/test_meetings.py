"""Meetings: stable ids in GET /meetings, and GET /meetings/{id} with attendance, apologies, items,
decisions and papers split out of the meeting facts."""

from __future__ import annotations

import pytest

from service.meetings import meeting_id, order_date, slug
from tests.history_corpus import (
    CABINET_ID,
    CABINET_MEETING,
    CABINET_REPORT_ID,
    PANEL_MEETING,
    UNDATED_ID,
    UNDATED_MEETING,
)


@pytest.mark.parametrize(
    "body,date,doc_id,expected",
    [
        ("Cabinet", "2018-03-29", "x", "cabinet-2018-03-29"),
        ("Children & Families O&S Panel", "2018-03-22", "x", "children-families-o-s-panel-2018-03-22"),
        ("Cabinet", None, "web-minutes", "cabinet-undated-web-minutes"),
        (None, None, "p1", "unknown-body-undated-p1"),
        ("  —  ", "2020-01-02", "p1", "unknown-body-2020-01-02"),
    ],
)
def test_meeting_ids_are_url_safe_slugs(body, date, doc_id, expected):
    assert meeting_id(body, date, doc_id) == expected
    assert slug(expected) == expected  # already URL-safe


def test_undated_meetings_are_ordered_by_the_midpoint_of_their_bounds():
    assert order_date("2018-03-22", {"after": "2000-01-01", "before": "2000-01-03"}) == "2018-03-22"
    assert order_date(None, {"after": "2018-01-10", "before": "2018-03-01"}) == "2018-02-04"
    assert order_date(None, {"before": "2018-03-01"}) == "2018-03-01"
    assert order_date(None, None) is None


def test_meetings_list_has_ids_in_date_order_with_undated_ones_placed_by_bounds(history_client):
    meetings = history_client.get("/meetings").json()
    ids = [m["id"] for m in meetings]
    assert ids == [
        "cabinet-2017-12-14",
        UNDATED_MEETING,  # between 10 Jan and 1 Mar 2018
        PANEL_MEETING,
        CABINET_MEETING,
        "cabinet-undated-web-minutes",  # no date and no bounds: last
    ]
    undated = next(m for m in meetings if m["id"] == UNDATED_MEETING)
    assert (
        undated["undated"]
        and undated["order_date"] == "2018-02-04"
        and undated["url"] == f"/meetings/{UNDATED_MEETING}"
    )
    assert all(it["document_id"] in m["documents"] for m in meetings for it in m["items"])
    cabinet = next(m for m in meetings if m["id"] == CABINET_MEETING)
    assert cabinet["documents"] == [CABINET_ID, CABINET_REPORT_ID]  # two papers, one meeting


def test_meeting_page_splits_attendance_apologies_and_decisions(history_client):
    r = history_client.get(f"/meetings/{CABINET_MEETING}")
    assert r.status_code == 200 and r.headers["vary"] == "Accept"
    m = r.json()
    assert (m["body"], m["meeting_date"], m["undated"]) == ("Cabinet", "2018-03-29", False)
    assert [f["value"] for f in m["chair"]] == ["Mr S E Geraghty"]
    assert [f["value"] for f in m["attendance"]] == ["Mr S E Geraghty (Chairman), Mr A T Amos and Mr A I Hardman"]
    assert [f["value"] for f in m["apologies"]] == ["Mr J Smith and Mrs L Hodgson"]
    items = {it["number"]: it for it in m["items"]}
    minutes_items = [it["title"] for it in m["items"] if it["document_id"] == CABINET_ID]
    assert minutes_items == ["1838 Confirmation of the Minutes", "1839 Business Case Approval"]
    # each decision sits under the item whose span holds it, not under the other
    assert [d["value"] for d in items["1838"]["decisions"]] == [
        "the minutes of the meeting held on 8 February 2018 be confirmed as a correct record"
    ]
    assert [d["value"] for d in items["1839"]["decisions"]] == [
        "the Business Case for a Wholly Owned Company be approved"
    ]
    assert len(m["decisions"]) == 2
    texts = {d: history_client.get(f"/documents/{d}").json()["text"] for d in m["documents"]}
    for it in m["items"]:
        text = texts[it["document_id"]]
        assert text[it["start"] : it["end"]].startswith(it["title"])
        assert it["url"] == f"/documents/{it['document_id']}#{it['start']}-{it['end']}"
        for d in it["decisions"]:
            assert it["start"] <= d["start"] < d["end"] <= it["end"]
            assert text[d["value_start"] : d["value_end"]] == d["value"]


def test_meeting_of_several_papers_lists_each_paper(history_client):
    m = history_client.get(f"/meetings/{CABINET_MEETING}").json()
    assert m["documents"] == [CABINET_ID, CABINET_REPORT_ID]
    assert m["papers"] == [
        {
            "id": CABINET_ID,
            "title": "Cabinet minutes, 29 March 2018",
            "doc_type": "minutes",
            "url": f"/documents/{CABINET_ID}",
        },
        {
            "id": CABINET_REPORT_ID,
            "title": "Highways report, 29 March 2018",
            "doc_type": "report",
            "url": f"/documents/{CABINET_REPORT_ID}",
        },
    ]
    # the items of both papers, each paper's in text order
    assert [(it["document_id"], it["number"]) for it in m["items"]] == [
        (CABINET_ID, "1838"),
        (CABINET_ID, "1839"),
        (CABINET_REPORT_ID, "1840"),
        (CABINET_REPORT_ID, "1841"),
    ]
    assert [it["title"] for it in m["items"] if it["document_id"] == CABINET_REPORT_ID] == [
        "1840 Highways Maintenance Contract",
        "1841 Winter Gritting Routes",
    ]
    # the report records no decisions: the minutes' two are the meeting's
    assert {d["document_id"] for d in m["decisions"]} == {CABINET_ID} and len(m["decisions"]) == 2


def test_an_undated_paper_is_a_meeting_of_its_own(history_client):
    m = history_client.get(f"/meetings/{UNDATED_MEETING}").json()
    assert [p["id"] for p in m["papers"]] == [UNDATED_ID] and m["documents"] == [UNDATED_ID]
    assert m["date_bounds"] == {"after": "2018-01-10", "before": "2018-03-01"}
    assert m["chair"] == m["attendance"] == m["apologies"] == m["decisions"] == []


def test_a_browser_asking_for_html_gets_the_page(history_client):
    r = history_client.get(f"/meetings/{CABINET_MEETING}", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'src="/static/views.js"' in r.text


@pytest.mark.parametrize("bad", ["nope", "cabinet-2099-01-01", "%2e%2e", "UPPER-case", "a" * 300])
def test_unknown_meeting_is_404_meeting_not_found(history_client, bad):
    r = history_client.get(f"/meetings/{bad}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] in ("meeting_not_found", "not_found")  # "%2e%2e" may never reach the route
    if bad in ("nope", "cabinet-2099-01-01", "UPPER-case"):
        assert r.json()["error"]["code"] == "meeting_not_found"
