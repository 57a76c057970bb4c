"""`minutes-qa fetch moderngov` against the local fake site (tests/fake_moderngov.py): offline, 127.0.0.1 only."""

from __future__ import annotations

import datetime as dt
import errno
import io
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from indexer.corpus import load_manifest
from indexer.moderngov import fetch as fetch_module
from indexer.moderngov.client import MAX_REDIRECTS, PoliteClient
from indexer.moderngov.fetch import FetchAborted, Fetcher, Options, Report
from indexer.moderngov.store import STATE_FILE, Manifest, sha256
from tests.fake_moderngov import EXPECTED_PAPERS, FakeModernGov

COUNCIL = "Testshire District Council"
SINCE, UNTIL = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def fetch(site: FakeModernGov, corpus: Path, **options: object) -> Report:
    corpus.mkdir(parents=True, exist_ok=True)
    settings: dict[str, object] = {"since": SINCE, "until": UNTIL, "council": COUNCIL, **options}
    opts = Options(site.base_url, corpus, **settings)  # type: ignore[arg-type]
    with PoliteClient(min_interval=0, backoff=0) as client:
        return Fetcher(opts, client).run()


def entries(corpus: Path) -> list[dict]:
    return yaml.safe_load((corpus / "manifest.yaml").read_text(encoding="utf-8"))["documents"]


def by_source(corpus: Path) -> dict[str, dict]:
    """Manifest entries keyed by the site's id: the attachment id, or m<meeting id> for composed minutes
    (whose source_url is the meeting's page, ieListDocuments.aspx?CId=…&MId=…)."""
    out = {}
    for e in entries(corpus):
        match = re.search(r"[?&]ID=(\d+)$", e["source_url"]) or re.search(r"[?&]MId=(\d+)$", e["source_url"])
        assert match, e["source_url"]
        out[("m" if "MId=" in e["source_url"] else "") + match.group(1)] = e
    return out


def test_first_fetch_brings_every_paper_with_a_valid_manifest_entry(site: FakeModernGov, corpus: Path):
    report = fetch(site, corpus)
    assert report.count("added") == EXPECTED_PAPERS and not report.failed
    assert {o.reason for o in report.outcomes if o.kind == "skipped"} == {
        "restricted (not public)",
        "minutes of 2025-01-15 already held as HTML",  # the minutes PDF of meeting 1001, held as HTML instead
    }
    metas = load_manifest(corpus)  # the corpus loader accepts what was written
    assert len(metas) == EXPECTED_PAPERS
    for e in entries(corpus):
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", e["id"]) and len(e["id"]) <= 100
        assert sha256((corpus / e["file"]).read_bytes()) == e["sha256"]
        assert e["council"] == COUNCIL and e["body"] in ("Cabinet", "Planning Committee")
        assert e["doc_type"] in ("minutes", "agenda", "report")
        assert e["meeting_date"] is None or dt.date.fromisoformat(e["meeting_date"])
        assert dt.datetime.fromisoformat(e["fetched_at"]).tzinfo == dt.UTC
        assert e["agenda_items"] and all(set(i) == {"number", "title"} for i in e["agenda_items"])
        assert isinstance(e["notes"], dict) and e["notes"]["body"].startswith("from ModernGov GetCommittees")
        assert ("agenda_item" in e) == (e["doc_type"] == "report")
    papers = by_source(corpus)
    assert papers["m1001"]["file"].endswith(".html") and papers["m1001"]["meeting_date"] == "2025-01-15"
    assert "RESOLVED that the budget" in (corpus / papers["m1001"]["file"]).read_text(encoding="utf-8")
    assert papers["m1001"]["agenda_items"] == [
        {"number": "1", "title": "Minutes"},
        {"number": "5", "title": "Budget 2025/26"},
    ]
    # minutes linked from the next meeting's "Minutes" item: which meeting they record is not in the record
    assert papers["5001"]["meeting_date"] is None and papers["5001"]["date_bounds"] == {"before": "2025-01-15"}
    assert papers["5002"]["agenda_item"] == {"number": "5", "title": "Budget 2025/26"}
    assert papers["5003"]["title"] == "Appendix A - Fees & Charges"  # escaped twice on the site
    assert {k for k, e in papers.items() if e["doc_type"] == "agenda"} == {"5005", "5012"}
    assert papers["5002"]["file"] == "testshire-district-council-cabinet-2025-01-15-report-5002.pdf"
    assert all("minutes-qa/" in ua for ua in site.user_agents)
    assert not list(corpus.glob("*.part")) and not list(corpus.glob(".*.part"))


def test_second_fetch_transfers_nothing_and_reports_all_unchanged(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    manifest_before = (corpus / "manifest.yaml").read_bytes()
    site.reset_counts()
    report = fetch(site, corpus)
    assert report.count("unchanged") == EXPECTED_PAPERS
    assert report.count("added") == report.count("updated") == 0 and not report.failed
    assert site.total_bytes_sent() == 0 and {status for _, status in site.statuses} == {304}
    assert report.bytes_received == 0
    assert (corpus / "manifest.yaml").read_bytes() == manifest_before


def test_a_changed_paper_is_fetched_again_and_its_entry_updated(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    manifest = Manifest(corpus)
    old = manifest.find("source_url", f"{site.base_url}/mgConvert2PDF.aspx?ID=5002")
    assert old is not None
    old_sha, old["fetched_at"] = old["sha256"], "2000-01-01T00:00:00Z"
    manifest.save()
    new_bytes = site.change_document("5002")
    site.reset_counts()

    report = fetch(site, corpus)
    assert report.count("updated") == 1 and report.count("unchanged") == EXPECTED_PAPERS - 1
    assert site.document_bytes_sent() == len(new_bytes)  # only the changed paper came over the wire
    entry = by_source(corpus)["5002"]
    assert entry["sha256"] == sha256(new_bytes) != old_sha
    assert entry["fetched_at"] != "2000-01-01T00:00:00Z"
    assert (corpus / entry["file"]).read_bytes() == new_bytes
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS


def test_a_503_is_retried_and_then_succeeds(site: FakeModernGov, corpus: Path):
    site.fail(site.doc_key("5006"), 503, times=2)
    site.fail("/mgWebService.asmx/GetMeeting?lMeetingId=1003", 503, times=1)
    report = fetch(site, corpus)
    assert report.count("added") == EXPECTED_PAPERS and not report.failed
    assert site.requests[site.doc_key("5006")] == 3
    assert site.requests["/mgWebService.asmx/GetMeeting?lMeetingId=1003"] == 2


def test_a_404_is_reported_and_skipped_while_the_rest_arrive(site: FakeModernGov, corpus: Path):
    site.remove(site.doc_key("5010"))
    report = fetch(site, corpus)
    assert report.count("added") == EXPECTED_PAPERS - 1
    assert [(o.label, o.reason) for o in report.failed] == [("Officer report 24/0123", "HTTP 404 (not on the site)")]
    assert site.requests[site.doc_key("5010")] == 1  # never retried
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS - 1


def test_a_paper_that_disappears_from_the_site_is_kept(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    site.remove(site.doc_key("5011"))
    report = fetch(site, corpus)
    assert len(report.failed) == 1
    assert (corpus / by_source(corpus)["5011"]["file"]).is_file()
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS


@pytest.mark.parametrize(
    "committees,listed,expected",
    [
        (("planning COMMITTEE",), {"102"}, {"5009", "5010", "5011", "5012"}),
        (("101",), {"101"}, {"m1001", "m1003", "5001", "5002", "5003", "5005", "5006", "5008"}),
    ],
)
def test_committee_filter_by_name_or_id(site: FakeModernGov, corpus: Path, committees, listed, expected):
    fetch(site, corpus, committees=committees)
    assert set(by_source(corpus)) == expected
    asked = {m.group(1) for k in site.requests if (m := re.search(r"GetMeetings\?lCommitteeId=(\d+)", k))}
    assert asked == listed


def test_since_and_until_filter_meetings_even_when_the_site_ignores_them(site: FakeModernGov, corpus: Path):
    fetch(site, corpus, since=dt.date(2025, 2, 1), until=dt.date(2025, 3, 31))
    # meetings of 5 Feb (Planning) and 12 Mar (Cabinet); the 15 Jan minutes are not held as HTML, so their PDF comes
    assert set(by_source(corpus)) == {"5009", "5010", "5004", "5005", "5006"}
    assert not any("lMeetingId=1001" in k or "lMeetingId=2002" in k for k in site.requests)


def test_manifest_comments_and_hand_written_entries_survive(site: FakeModernGov, corpus: Path):
    corpus.mkdir()
    (corpus / "old-minutes.txt").write_text("Minutes of the old panel.\n", encoding="utf-8")
    hand_written = (
        "# Hand-kept corpus: do not reorder.\n"
        "documents:\n"
        "  - id: old-minutes\n"
        "    file: old-minutes.txt\n"
        "    title: Old panel minutes  # typed from the paper copy\n"
        "    council: Testshire District Council\n"
        "    body: Old Panel\n"
        '    meeting_date: "2010-05-04"\n'
        "    doc_type: minutes\n"
        "    notes:\n"
        "      meeting_date: >-\n"
        "        Printed on the first page.\n"
    )
    (corpus / "manifest.yaml").write_text(hand_written, encoding="utf-8")
    fetch(site, corpus)
    text = (corpus / "manifest.yaml").read_text(encoding="utf-8")
    assert text.startswith(hand_written)  # comments, quoting, folded scalars: byte for byte
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS + 1


def test_an_interrupted_run_keeps_what_it_finished_and_the_next_one_resumes(site: FakeModernGov, corpus: Path):
    corpus.mkdir()

    def interrupt_after_two_meetings(done: int, total: int, what: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    opts = Options(site.base_url, corpus, SINCE, UNTIL, council=COUNCIL)
    with PoliteClient(min_interval=0, backoff=0) as client, pytest.raises(KeyboardInterrupt):
        Fetcher(opts, client, interrupt_after_two_meetings).run()
    first = load_manifest(corpus)  # consistent: every file written has its entry
    assert 0 < len(first) < EXPECTED_PAPERS
    assert not [p for p in corpus.iterdir() if p.name.endswith(".part")]
    site.reset_counts()
    report = fetch(site, corpus)
    assert report.count("unchanged") == len(first) and report.count("added") == EXPECTED_PAPERS - len(first)
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS


def test_a_lost_state_file_costs_downloads_but_never_duplicates(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    (corpus / STATE_FILE).unlink()
    report = fetch(site, corpus)
    assert report.count("unchanged") == EXPECTED_PAPERS
    assert len(load_manifest(corpus)) == EXPECTED_PAPERS


@pytest.mark.parametrize("damage", ["deleted", "unreadable"])
def test_after_a_lost_state_file_later_runs_still_add_nothing(site: FakeModernGov, corpus: Path, damage: str):
    fetch(site, corpus)
    if damage == "deleted":
        (corpus / STATE_FILE).unlink()
    else:
        (corpus / STATE_FILE).write_text("{not json", encoding="utf-8")
    assert fetch(site, corpus).count("unchanged") == EXPECTED_PAPERS  # adopted from the manifest
    site.reset_counts()
    report = fetch(site, corpus)  # the state was rebuilt: files, ids and validators
    assert report.count("unchanged") == EXPECTED_PAPERS and report.count("added") == 0 and not report.failed
    assert len(entries(corpus)) == EXPECTED_PAPERS
    assert site.document_bytes_sent() == 0


def test_composed_minutes_recorded_with_the_old_web_service_source_url_are_adopted(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    manifest = Manifest(corpus)
    moved = 0
    for entry in manifest.entries:  # as 0.4.0 wrote them: source_url = the GetMeeting call
        if match := re.search(r"ieListDocuments\.aspx\?CId=\d+&MId=(\d+)$", entry["source_url"]):
            entry["source_url"] = f"{site.base_url}/mgWebService.asmx/GetMeeting?lMeetingId={match.group(1)}"
            moved += 1
    manifest.save()
    assert moved == 2
    (corpus / STATE_FILE).unlink()
    assert fetch(site, corpus).count("unchanged") == EXPECTED_PAPERS
    assert fetch(site, corpus).count("unchanged") == EXPECTED_PAPERS
    assert len(entries(corpus)) == EXPECTED_PAPERS


def test_a_paper_whose_write_failed_is_fetched_again_next_time(site: FakeModernGov, corpus: Path, monkeypatch):
    fetch(site, corpus)
    target = by_source(corpus)["5002"]["file"]
    new_bytes = site.change_document("5002")
    real_write = fetch_module.atomic_write

    def disk_full_for_the_paper(path: Path, data: bytes) -> None:
        if path.name == target:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(fetch_module, "atomic_write", disk_full_for_the_paper)
    with pytest.raises(OSError, match="No space left"):
        fetch(site, corpus)
    monkeypatch.setattr(fetch_module, "atomic_write", real_write)
    report = fetch(site, corpus)
    assert report.count("updated") == 1 and report.count("unchanged") == EXPECTED_PAPERS - 1
    assert (corpus / target).read_bytes() == new_bytes
    assert by_source(corpus)["5002"]["sha256"] == sha256(new_bytes)


def word_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize(
    "body,content_type,reason",
    [
        (
            b"\xd0\xcf\x11\xe0 an old .doc",
            "application/msword",
            "not a PDF, Word .docx or HTML paper (application/msword)",
        ),
        (word_docx(), DOCX, "now .docx, was testshire-district-council-cabinet-2025-01-15-report-5002.pdf; kept that"),
    ],
)
def test_a_paper_the_site_now_serves_as_another_type_is_reported_on_every_run(
    site: FakeModernGov, corpus: Path, body: bytes, content_type: str, reason: str
):
    fetch(site, corpus)
    kept = by_source(corpus)["5002"]
    site.serve("5002", body, content_type)
    for _ in range(2):  # not taken for "unchanged" the second time: its new validators were never kept
        report = fetch(site, corpus)
        assert [o.label for o in report.failed] == ["Budget report 2025/26"]
        assert report.failed[0].reason.startswith(reason)
    assert sha256((corpus / kept["file"]).read_bytes()) == kept["sha256"]  # the old copy is kept


@pytest.mark.parametrize("trick,reason", [("redirect_loop", "TooManyRedirects"), ("bad_encoding", "DecodingError")])
def test_a_broken_answer_for_one_paper_fails_that_paper_only(site: FakeModernGov, corpus: Path, trick, reason):
    key = site.doc_key("5010")
    getattr(site, trick)(key)
    report = fetch(site, corpus)
    assert [o.label for o in report.failed] == ["Officer report 24/0123"]
    assert report.failed[0].reason.startswith(reason + ": ") and "\n" not in report.failed[0].reason
    assert report.count("added") == EXPECTED_PAPERS - 1  # the site was not taken for down
    assert site.requests[key] == (1 + MAX_REDIRECTS if trick == "redirect_loop" else 1)  # never retried


def test_a_redirect_loop_at_the_start_stops_the_run(site: FakeModernGov, corpus: Path):
    site.redirect_loop("/mgWebService.asmx/GetCommittees")
    with pytest.raises(FetchAborted, match="TooManyRedirects"):
        fetch(site, corpus)


def test_a_login_page_in_place_of_a_document_is_not_added(site: FakeModernGov, corpus: Path):
    login = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>User name</form></body></html>"
    site.serve("5006", login, "text/html")
    report = fetch(site, corpus)
    assert [(o.label, o.reason) for o in report.failed] == [
        ("Housing strategy 2025-2030", "the site answered with a web page, not the document (a login or error page?)")
    ]
    assert report.count("added") == EXPECTED_PAPERS - 1
    assert "5006" not in by_source(corpus) and not list(corpus.glob("*5006*"))


def test_composed_minutes_link_to_the_meeting_page(site: FakeModernGov, corpus: Path):
    fetch(site, corpus)
    entry = by_source(corpus)["m1001"]
    assert entry["source_url"] == f"{site.base_url}/ieListDocuments.aspx?CId=101&MId=1001"
    assert f"{site.base_url}/mgWebService.asmx/GetMeeting?lMeetingId=1001" in entry["notes"]["source_url"]
    assert all("mgWebService" not in e["source_url"] for e in entries(corpus))


def test_a_site_without_validators_is_compared_by_sha256(site: FakeModernGov, corpus: Path):
    site.send_validators = False
    fetch(site, corpus)
    manifest_before = (corpus / "manifest.yaml").read_bytes()
    report = fetch(site, corpus)
    assert report.count("unchanged") == EXPECTED_PAPERS
    assert (corpus / "manifest.yaml").read_bytes() == manifest_before


def test_a_refusal_at_the_start_is_not_retried_and_stops_the_run(site: FakeModernGov, corpus: Path):
    site.fail("/mgWebService.asmx/GetCommittees", 403)
    with pytest.raises(FetchAborted, match="HTTP 403.*block automated clients"):
        fetch(site, corpus)
    assert site.requests == {"/mgWebService.asmx/GetCommittees": 1}
    assert not (corpus / "manifest.yaml").exists() and not (corpus / STATE_FILE).exists()


def test_when_the_site_stops_answering_the_rest_is_not_attempted(site: FakeModernGov, corpus: Path, monkeypatch):
    monkeypatch.setattr("indexer.moderngov.client.time.sleep", lambda _s: None)

    def stop_the_site_after_two_meetings(done: int, total: int, what: str) -> None:
        if done == 2:
            site.server.shutdown()
            site.server.server_close()

    opts = Options(site.base_url, corpus, SINCE, UNTIL, council=COUNCIL)
    corpus.mkdir()
    with PoliteClient(min_interval=0, backoff=0, timeout=2) as client:
        report = Fetcher(opts, client, stop_the_site_after_two_meetings).run()
    reasons = [o.reason for o in report.failed]
    assert reasons[0].startswith("ConnectError") and len(reasons) == 3  # meetings 3, 4 and 5
    assert all(r.startswith("not tried: the site stopped answering") for r in reasons[1:])
    assert len(load_manifest(corpus)) == report.count("added") > 0


def test_requests_are_spaced_by_the_minimum_interval(site: FakeModernGov):
    waits: list[float] = []
    with PoliteClient(min_interval=5.0, sleep=waits.append) as client:
        for _ in range(3):
            client.get(site.base_url + "/mgWebService.asmx/GetCommittees")
    assert len(waits) == 2 and all(4.0 < w <= 5.0 for w in waits)  # none before the first request
