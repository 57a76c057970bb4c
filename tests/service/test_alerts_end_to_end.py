"""The issue's end-to-end test of saved searches: index the corpus without one paper, save three
searches, add the paper, re-index and reload: each feed gains exactly the new matching passages
with correct citations, and a webhook receiver that fails every first attempt gets each match once;
re-indexing again without a change adds and posts nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from indexer.build import build_index
from service.api import create_app
from service.settings import Settings
from tests.service.webhook_receiver import webhook_receiver

ATOM = "{http://www.w3.org/2005/Atom}"
AUTH = {"authorization": "Bearer test-token"}
HELD_BACK = "web-minutes"  # the paper added after the searches are saved (Cabinet, undated minutes)
BASELINE_CASE = "The business case must be completed by 31st March 2018."
NEW_SAVINGS = "The ADM would not provide financial savings."
NEW_CASE = "The Cabinet considered the Business Case for developing a Wholly Owned Company."


def hold_back(corpus: Path, doc_id: str, store: Path) -> dict[str, Any]:
    """Take a paper and its manifest entry out of the corpus; returns the entry."""
    manifest = yaml.safe_load((corpus / "manifest.yaml").read_text())
    entry = next(d for d in manifest["documents"] if d["id"] == doc_id)
    manifest["documents"].remove(entry)
    (corpus / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    store.mkdir()
    shutil.move(corpus / entry["file"], store / entry["file"])
    return entry


def put_back_first(corpus: Path, entry: dict[str, Any], store: Path) -> None:
    """Return the paper as the manifest's first entry, so every other paper's chunks are renumbered."""
    manifest = yaml.safe_load((corpus / "manifest.yaml").read_text())
    manifest["documents"].insert(0, entry)
    (corpus / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    shutil.move(store / entry["file"], corpus / entry["file"])


def parse_feed(xml: bytes) -> tuple[ET.Element, list[dict[str, str]]]:
    """Parse an Atom feed with the stdlib parser and check what RFC 4287 requires of it."""
    feed = ET.fromstring(xml)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None, tag
    dt.datetime.fromisoformat(feed.findtext(f"{ATOM}updated") or "")
    assert [link.get("rel") for link in feed.findall(f"{ATOM}link")].count("self") == 1
    entries = []
    for entry in feed.findall(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None
        entries.append(
            {
                "id": entry.findtext(f"{ATOM}id") or "",
                "title": entry.findtext(f"{ATOM}title") or "",
                "updated": entry.findtext(f"{ATOM}updated") or "",
                "href": link.get("href") or "",
                "content": entry.findtext(f"{ATOM}content") or "",
            }
        )
        assert entries[-1]["id"].startswith("tag:minutes-qa,") and entries[-1]["title"]
        dt.datetime.fromisoformat(entries[-1]["updated"])
    return feed, entries


def cited(client: TestClient, entry: dict[str, str]) -> tuple[str, str]:
    """(document id, the text the entry's link cites), read back from GET /documents."""
    path, span = entry["href"].split("/documents/", 1)[1].split("#")
    start, end = (int(x) for x in span.split("-"))
    return path, client.get(f"/documents/{path}").json()["text"][start:end]


def fail_first_attempt(path: str, body: Any, n: int) -> tuple[int, dict[str, str]]:
    return (500, {}) if n == 0 else (204, {})


def test_feeds_gain_exactly_the_new_passages_once(corpus_dir: Path, tmp_path: Path, fake_embedder):
    entry = hold_back(corpus_dir, HELD_BACK, tmp_path / "held-back")
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir, fake_embedder, progress=False)
    settings = Settings(
        index_dir=index_dir,
        corpus_dir=corpus_dir,
        model=fake_embedder.model_name,
        admin_token="test-token",
        alert_webhook_backoff=[0.0, 0.05],
        alert_webhook_allow_private=True,  # the receiver listens on 127.0.0.1
    )
    with webhook_receiver(fail_first_attempt) as hook, TestClient(create_app(settings, embedder=fake_embedder)) as c:

        def save(body: dict[str, Any]) -> dict[str, Any]:
            r = c.post("/alerts", json=body, headers=AUTH)
            assert r.status_code == 201, r.text
            return r.json()

        def feed(alert: dict[str, Any]) -> list[dict[str, str]]:
            r = c.get(alert["feed_url"])
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
            return parse_feed(r.content)[1]

        # Thresholds are explicit: the fake embedder's similarities are not MiniLM's.
        only_new = save({"query": "financial savings", "threshold": 0.5, "title": "Savings"})
        both = save({"query": "Business Case", "threshold": 0.4, "webhook_url": f"{hook.url}/hook"})
        excluded = save({"query": "Business Case", "threshold": 0.4, "filters": {"doc_type": "agenda"}})
        assert only_new["match_count"] == 0
        for alert in (both, excluded):  # the baseline: listed in the JSON view, not in the feed
            matches = c.get(alert["url"]).json()["matches"]
            assert [(m["text"], m["baseline"]) for m in matches] == [(BASELINE_CASE, True)]
            assert feed(alert) == []
        assert c.app.state.alerts.wait_for_deliveries(timeout=60) and hook.posts == []  # baselines are not posted

        put_back_first(corpus_dir, entry, tmp_path / "held-back")
        build_index(corpus_dir, index_dir, fake_embedder, progress=False)
        r = c.post("/admin/reload", headers=AUTH)
        assert r.status_code == 200 and r.json()["reloaded"] is True
        version = r.json()["index_version"]

        gained = {name: feed(a) for name, a in (("only_new", only_new), ("both", both), ("excluded", excluded))}
        assert {name: sorted(cited(c, e) for e in entries) for name, entries in gained.items()} == {
            "only_new": [(HELD_BACK, NEW_SAVINGS)],
            "both": sorted([(HELD_BACK, NEW_CASE), (HELD_BACK, NEW_SAVINGS)]),
            "excluded": [],
        }
        for entries in gained.values():  # the content quotes the cited text verbatim, then where it is from
            for e in entries:
                assert e["content"] == f"{cited(c, e)[1]}\n\nCabinet, date not stated, item 1839"
        view = c.get(both["url"]).json()
        new = [m for m in view["matches"] if not m["baseline"]]
        assert {m["text"] for m in new} == {NEW_CASE, NEW_SAVINGS}
        assert all(m["index_version"] == version and m["document_id"] == HELD_BACK for m in new)
        assert all(m["url"] == f"/documents/{HELD_BACK}#{m['start']}-{m['end']}" for m in new)
        assert (view["match_count"], view["new_count"], view["last_checked_version"]) == (3, 2, version)

        # the webhook: each new match of `both` once, after a first attempt that failed
        assert c.app.state.alerts.wait_for_deliveries(timeout=60)
        delivered = hook.delivered()
        assert sorted(b["match"]["id"] for b in delivered) == sorted(m["id"] for m in new)
        assert all(b["alert"]["id"] == both["id"] and b["alert"]["query"] == "Business Case" for b in delivered)
        assert [status for *_, status in hook.posts].count(500) == 2 and len(hook.posts) == 4
        assert {p[2]["Idempotency-Key"] for p in hook.posts} == {f"{both['id']}:{m['id']}" for m in new}

        # re-index with no change (a new version, chunks numbered as before): nothing is added or posted
        build_index(corpus_dir, index_dir, fake_embedder, progress=False, force=True)
        r = c.post("/admin/reload", headers=AUTH)
        assert r.status_code == 200 and r.json()["reloaded"] is True and r.json()["index_version"] != version
        assert {name: feed(a) for name, a in (("only_new", only_new), ("both", both), ("excluded", excluded))} == gained
        again = c.get(both["url"]).json()
        assert (again["match_count"], again["last_checked_version"]) == (3, r.json()["index_version"])
        assert c.app.state.alerts.wait_for_deliveries(timeout=60)
        assert len(hook.posts) == 4
