"""`minutes-qa fetch moderngov` on the command line (exit codes, one-line errors) and the fetcher's
small parts; the fetch behaviour itself is in test_moderngov.py (shared fixtures: conftest.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from indexer.moderngov import api, naming, register
from indexer.moderngov.cli import base_url
from indexer.moderngov.papers import html_expected, paper_suffix
from tests.fake_moderngov import FakeModernGov
from tests.indexer.test_moderngov import COUNCIL, word_docx

# -- the command line --------------------------------------------------------------------------------


def run_cli(argv: list[str], corpus: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="minutes-qa")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fetch", "moderngov", *argv])
    with pytest.raises(SystemExit) as stop:
        args.func(args, SimpleNamespace(corpus_dir=corpus))
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["ftp://example.org"], "BASE_URL must be an http(s) address"),
        (["democracy.example.gov.uk"], "BASE_URL must be an http(s) address"),
        (["http://127.0.0.1:9", "--since", "2025-13-01"], "--since must be a date YYYY-MM-DD"),
        (["http://127.0.0.1:9", "--since", "2025-06-01", "--until", "2025-01-01"], "is after --until"),
        (["http://127.0.0.1:9", "--min-interval", "soon"], "--min-interval must be a number"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, corpus: Path, capsys):
    code, out, err = run_cli(argv, corpus, capsys)
    assert code == 2 and err.startswith("minutes-qa: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not corpus.exists()  # refused before anything was touched


def test_an_unknown_committee_exits_2(site: FakeModernGov, corpus: Path, capsys):
    code, _, err = run_cli([site.base_url, "--committee", "Licensing", "--min-interval", "0"], corpus, capsys)
    assert code == 2 and "no committee 'Licensing'" in err and err.count("\n") == 1
    assert not (corpus / "manifest.yaml").exists()


def test_an_unreadable_manifest_exits_2_and_is_left_alone(site: FakeModernGov, corpus: Path, capsys):
    corpus.mkdir()
    (corpus / "manifest.yaml").write_text("documents: [unclosed\n", encoding="utf-8")
    code, _, err = run_cli([site.base_url, "--min-interval", "0"], corpus, capsys)
    assert code == 2 and "cannot be read as YAML" in err
    assert (corpus / "manifest.yaml").read_text(encoding="utf-8") == "documents: [unclosed\n"
    assert site.requests == {}  # refused before any request


def test_an_unreachable_site_exits_1_with_one_line(corpus: Path, capsys, monkeypatch):
    monkeypatch.setattr("indexer.moderngov.client.time.sleep", lambda _s: None)  # no real backoff waits
    code, _, err = run_cli([f"http://127.0.0.1:{closed_port()}", "--min-interval", "0"], corpus, capsys)
    assert code == 1 and err.startswith("minutes-qa: cannot reach") and err.count("\n") == 1


def test_cli_fetch_exits_0_then_1_when_a_paper_fails(site: FakeModernGov, corpus: Path, capsys):
    argv = [site.base_url, "--since", "2025-01-01", "--until", "2025-12-31", "--min-interval", "0"]
    code, out, _ = run_cli([*argv, "--council", COUNCIL], corpus, capsys)
    assert code == 0 and re.search(r"added\s*│\s*12", out) and "next: minutes-qa index" in out
    site.change_document("5008")
    site.remove(site.doc_key("5011"))
    code, out, _ = run_cli(argv, corpus, capsys)
    assert code == 1 and re.search(r"updated\s*│\s*1", out) and "failed: Officer report 25/0007: HTTP 404" in out


def test_cli_a_redirect_loop_on_one_paper_exits_1_not_a_traceback(site: FakeModernGov, corpus: Path, capsys):
    site.redirect_loop(site.doc_key("5010"))
    argv = [site.base_url, "--since", "2025-01-01", "--until", "2025-12-31", "--min-interval", "0"]
    code, out, err = run_cli(argv, corpus, capsys)
    assert code == 1 and re.search(r"added\s*│\s*11", out) and "Traceback" not in out + err
    assert re.search(r"failed: Officer report 24/0123: TooManyRedirects: .*\n", out)


# -- the parts ------------------------------------------------------------------------------------------


def test_base_url_is_cut_back_to_the_site_root():
    assert base_url("https://democracy.example.gov.uk/") == "https://democracy.example.gov.uk"
    assert base_url("https://x.gov.uk/mgWebService.asmx?WSDL") == "https://x.gov.uk"
    assert base_url("http://x.gov.uk/councillors/mgListCommittees.aspx?bcr=1") == "http://x.gov.uk/councillors"


def test_council_names_from_host_names():
    assert naming.council_from_host("https://democracy.manchester.gov.uk") == "Manchester"
    assert naming.council_from_host("https://barnet.moderngov.co.uk") == "Barnet"
    assert naming.council_from_host("http://www.minutes.haringey.gov.uk") == "Haringey"
    assert naming.council_from_host("http://127.0.0.1:8080") is None


def test_ids_stay_within_100_characters_and_keep_their_tail():
    doc_id = naming.document_id("A" * 80, "Overview and Scrutiny " * 5, "2025-01-15", "report", "123456")
    assert len(doc_id) <= 100 and doc_id.endswith("-2025-01-15-report-123456")


def test_a_meeting_record_numbers_items_as_printed():
    record = b"""<?xml version="1.0" encoding="utf-8"?><meeting><meetingid>7</meetingid>
    <meetingdate>10/02/2026</meetingdate><agendaitems><agendaitem><agendaitemtitle>Work Programme</agendaitemtitle>
    <agendaitemnumber>12</agendaitemnumber><fulldisplaynumberformat>9.</fulldisplaynumberformat>
    <linkeddocuments><linkeddoc><attachmentid>1</attachmentid><title>WP</title>
    <url>https://x.gov.uk/mgConvert2PDF.aspx?ID=1</url><isrestricted>False</isrestricted></linkeddoc>
    <linkeddoc><attachmentid>1</attachmentid><title>WP</title><url>https://x.gov.uk/mgConvert2PDF.aspx?ID=1</url>
    </linkeddoc></linkeddocuments></agendaitem></agendaitems></meeting>"""
    meeting = api.parse_meeting(record)
    assert meeting.date == dt.date(2026, 2, 10) and meeting.items[0].number == "9"
    assert len(meeting.items[0].documents) == 1  # linked twice, fetched once


def test_paper_types_come_from_the_bytes():
    assert paper_suffix(b"%PDF-1.4 ...") == ".pdf"
    assert paper_suffix(word_docx()) == ".docx"
    assert paper_suffix(b"<!DOCTYPE html><html><body>Minutes</body></html>") == ".html"
    assert paper_suffix(b"\xd0\xcf\x11\xe0 an old .doc") is None


def test_only_a_link_to_a_web_page_may_answer_with_html():
    assert html_expected("https://x.gov.uk/documents/s123/Briefing%20note.htm")
    assert html_expected("https://x.gov.uk/documents/s123/Note.HTML?v=2")
    assert not html_expected("https://x.gov.uk/mgConvert2PDF.aspx?ID=123")
    assert not html_expected("https://x.gov.uk/documents/s123/Report.pdf")
    assert not html_expected("https://x.gov.uk/documents/s123/Report")
