"""A local fake ModernGov site for the fetcher's tests: `mgWebService.asmx` plus `mgConvert2PDF.aspx`.

The XML follows real responses as recorded in DemocracyClub/LGSF's fixtures from
democracy.manchester.gov.uk (lgsf/minutes/tests/fixtures/): lowercase element names without a
namespace, counts padded with a space, dates dd/mm/yyyy, minute text as escaped HTML in
`minutesnonemptyhtmlbody`, documents as `linkeddoc` with an `mgConvert2PDF.aspx?ID=` URL.
GetMeetings ignores sFromDate/sToDate here, as one report says some real sites do, so the tests
exercise the client-side date filter.

Two committees, five meetings, twelve papers the fetcher should bring in (ten PDFs, two minutes
composed from the minute text), plus a restricted attachment and a minutes PDF whose meeting is
already held as HTML (both to be skipped). Tests can change a paper, serve other bytes in its place
(an HTML login page, an old .doc), make a URL fail N times, 404, redirect to itself for ever or send
a body its Content-Encoding cannot decode, and read per-URL request and byte counts. Serves
127.0.0.1 only, on a free port, in a thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.pdf_fixtures import simple_pdf

COMMITTEES = {"101": "Cabinet", "102": "Planning Committee"}

# meeting id -> (committee id, dd/mm/yyyy, agenda items); an agenda item is (internal number, printed
# number, minutes number, title, minute text as HTML or "", [(attachment id, title, restricted)])
# fmt: off
MEETINGS: dict[str, tuple[str, str, list[tuple[str, str, str, str, str, list[tuple[str, str, bool]]]]]] = {
    "1001": ("101", "15/01/2025", [
        ("4", "1.", "1", "Minutes", "<p>The minutes of 4 December 2024 were approved.</p>",
         [("5001", "Minutes Cabinet 4 Dec 2024", False)]),
        ("9", "5.", "2", "Budget 2025/26", "<p>RESOLVED that the budget of &pound;48.2m be recommended.</p>",
         [("5002", "Budget report 2025/26", False), ("5003", "Appendix A - Fees &amp; Charges", False)]),
    ]),
    "1002": ("101", "12/03/2025", [
        ("2", "1.", "", "Minutes", "", [("5004", "Minutes Cabinet 15 Jan 2025", False)]),
        ("3", "2.", "", "Agenda", "", [("5005", "Agenda frontsheet 12th-Mar-2025 Cabinet", False)]),
        ("8", "6.", "", "Housing strategy", "",
         [("5006", "Housing strategy 2025-2030", False), ("5007", "Exempt appendix", True)]),
    ]),
    "1003": ("101", "14/05/2025", [
        ("5", "4.", "3", "Leisure centre contract", "<p>RESOLVED to award the contract to Active Leisure Ltd.</p>",
         [("5008", "Leisure centre contract award", False)]),
    ]),
    "2001": ("102", "05/02/2025", [
        ("1", "1.", "", "Minutes", "", [("5009", "Minutes of the previous meeting", False)]),
        ("6", "5.", "", "24/0123 Land at Mill Lane", "", [("5010", "Officer report 24/0123", False)]),
    ]),
    "2002": ("102", "02/04/2025", [
        ("2", "2.", "", "Agenda", "", [("5012", "Public reports pack 02nd-Apr-2025 Planning Committee", False)]),
        ("4", "3.", "", "25/0007 Former depot", "", [("5011", "Officer report 25/0007", False)]),
    ]),
}
# fmt: on

EXPECTED_PAPERS = 12
DOC_PATH = "/mgConvert2PDF.aspx"
START = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)


@dataclass
class Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: dt.datetime


def _resource(body: bytes, content_type: str, when: dt.datetime = START) -> Resource:
    return Resource(body, content_type, '"' + hashlib.sha1(body).hexdigest()[:16] + '"', when)


def _xml(body: str) -> Resource:
    return _resource(('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode(), "text/xml; charset=utf-8")


def _e(text: str) -> str:
    return escape(text)


def committees_xml() -> str:
    rows = "".join(
        f"<committee><committeeid>{cid}</committeeid><committeetitle>{_e(t)}</committeetitle>"
        "<committeedeleted>False</committeedeleted><committeeexpired>False</committeeexpired>"
        "<committeecategory>Committees</committeecategory></committee>"
        for cid, t in COMMITTEES.items()
    )
    return f"<committees><committeescount> {len(COMMITTEES)}</committeescount>{rows}</committees>"


def meetings_xml(committee_id: str) -> str:
    mine = [(mid, m) for mid, m in MEETINGS.items() if m[0] == committee_id]
    rows = "".join(
        f"<meeting><meetingid>{mid}</meetingid><meetingdate>{m[1]}</meetingdate>"
        "<meetingstatus>Confirmed</meetingstatus><meetingtime>10.00 am</meetingtime></meeting>"
        for mid, m in mine
    )
    title = _e(COMMITTEES.get(committee_id, ""))
    return (
        f"<getmeetings><meetingscount> {len(mine)}</meetingscount><committeescount> 1</committeescount>"
        f"<committee><committeeid>{committee_id}</committeeid><committeetitle>{title}</committeetitle>"
        f"<committeemeetings>{rows}</committeemeetings></committee></getmeetings>"
    )


def meeting_xml(base: str, meeting_id: str) -> str:
    committee_id, date, items = MEETINGS[meeting_id]
    published = any(minutes for *_, minutes, _docs in items)
    parts = [
        f"<meeting><meetingid>{meeting_id}</meetingid><meetingdate>{date}</meetingdate>",
        "<meetingstatus>Confirmed</meetingstatus><meetinglocation>Council Chamber</meetinglocation>",
        f"<agendapublished>True</agendapublished><minutepublished>{published}</minutepublished><agendaitems>",
    ]
    for internal, printed, minutes_no, title, minutes, docs in items:
        linked = "".join(
            f"<linkeddoc><attachmentid>{aid}</attachmentid><title>{_e(t)}</title><isurl>False</isurl>"
            f"<url>{base}{DOC_PATH}?ID={aid}</url><isrestricted>{restricted}</isrestricted>"
            f"<ownertitle>{_e(title)}</ownertitle></linkeddoc>"
            for aid, t, restricted in docs
        )
        parts.append(
            f"<agendaitem><agendaitemid>{meeting_id}{internal}</agendaitemid><agendaitemtitle>{_e(title)}"
            f"</agendaitemtitle><agendaitemnumber>{internal}</agendaitemnumber><agendaitemsubnumber>\n"
            f"</agendaitemsubnumber><fulldisplaynumberformat>{printed}</fulldisplaynumberformat>"
            f"<minutesnonemptyhtmlbody>{_e(minutes)}</minutesnonemptyhtmlbody>"
            f"<isminutepublished>{bool(minutes)}</isminutepublished><minutesitemnumber>{minutes_no}"
            f"</minutesitemnumber><linkeddocuments>{linked}</linkeddocuments></agendaitem>"
        )
    parts.append("</agendaitems></meeting>")
    return "".join(parts)


def document_pdf(attachment_id: str, title: str, version: int = 1) -> bytes:
    """Two pages, so that a citation's page number means something: the recommendation is on p. 2."""
    first = [title, "", f"Paper {attachment_id}, version {version}.", "The recommendation is set out below."]
    second = [f"Recommendation on paper {attachment_id}: the committee is asked to note the report and its appendices."]
    return simple_pdf([first, second], title=title)


class FakeModernGov:
    """Start with `with FakeModernGov() as site:`; `site.base_url` is the site root."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.bytes_sent: dict[str, int] = {}
        self.statuses: list[tuple[str, int]] = []
        self.user_agents: set[str] = set()
        self._failures: dict[str, list[int]] = {}  # path?query -> statuses still to send
        self._missing: set[str] = set()
        self._tricks: dict[str, str] = {}  # path?query -> "redirect-loop" | "bad-gzip"
        self.send_validators = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.resources: dict[str, Resource] = {}
        self.titles = {aid: t for m in MEETINGS.values() for *_, docs in m[2] for aid, t, _ in docs}
        for aid, title in self.titles.items():
            self.resources[f"{DOC_PATH}?ID={aid}"] = _resource(document_pdf(aid, title), "application/pdf")
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeModernGov:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests change -------------------------------------------------------------------------

    def doc_key(self, attachment_id: str) -> str:
        return f"{DOC_PATH}?ID={attachment_id}"

    def change_document(self, attachment_id: str, version: int = 2) -> bytes:
        """New bytes, a new ETag and a later Last-Modified for one paper."""
        old = self.resources[self.doc_key(attachment_id)]
        body = document_pdf(attachment_id, self.titles[attachment_id], version)
        self.resources[self.doc_key(attachment_id)] = _resource(
            body, "application/pdf", old.last_modified + dt.timedelta(days=1)
        )
        return body

    def serve(self, attachment_id: str, body: bytes, content_type: str) -> None:
        """Other bytes for one paper's URL (a login page, a file of another type), as a change: new validators."""
        old = self.resources[self.doc_key(attachment_id)]
        self.resources[self.doc_key(attachment_id)] = _resource(
            body, content_type, old.last_modified + dt.timedelta(days=1)
        )

    def redirect_loop(self, key: str) -> None:
        """`key` answers 302 to itself, every time."""
        self._tricks[key] = "redirect-loop"

    def bad_encoding(self, key: str) -> None:
        """`key` answers 200 with `Content-Encoding: gzip` and a body that is not gzip."""
        self._tricks[key] = "bad-gzip"

    def fail(self, key: str, status: int = 503, times: int = 1) -> None:
        self._failures[key] = [status] * times

    def remove(self, key: str) -> None:
        self._missing.add(key)

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_sent.clear()
            self.statuses.clear()

    def document_bytes_sent(self) -> int:
        return sum(n for k, n in self.bytes_sent.items() if k.startswith(DOC_PATH))

    def total_bytes_sent(self) -> int:
        return sum(self.bytes_sent.values())

    # -- serving -----------------------------------------------------------------------------------

    def _lookup(self, path: str, query: dict[str, list[str]]) -> Resource | None:
        one = {k.lower(): v[0] for k, v in query.items()}
        service = "/mgWebService.asmx/"
        if path == service + "GetCommittees":
            return _xml(committees_xml())
        if path == service + "GetMeetings" and one.get("lcommitteeid") in COMMITTEES:
            return _xml(meetings_xml(one["lcommitteeid"]))
        if path == service + "GetMeeting" and one.get("lmeetingid") in MEETINGS:
            return _xml(meeting_xml(self.base_url, one["lmeetingid"]))
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, key: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with site.lock:
                    site.bytes_sent[key] = site.bytes_sent.get(key, 0) + len(body)
                    site.statuses.append((key, status))

            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                key = self.path
                with site.lock:
                    site.requests[key] = site.requests.get(key, 0) + 1
                    site.user_agents.add(self.headers.get("User-Agent", ""))
                    pending = site._failures.get(key)
                    failure = pending.pop(0) if pending else None
                if failure:
                    return self._send(key, failure, b"Service Unavailable", {"Content-Type": "text/plain"})
                trick = site._tricks.get(key)
                if trick == "redirect-loop":
                    return self._send(key, 302, b"", {"Location": key})
                if trick == "bad-gzip":
                    return self._send(
                        key, 200, b"not gzip at all", {"Content-Type": "application/pdf", "Content-Encoding": "gzip"}
                    )
                split = urlsplit(key)
                resource = None
                if key not in site._missing:
                    resource = site.resources.get(key) or site._lookup(split.path, parse_qs(split.query))
                if resource is None:
                    return self._send(key, 404, b"Not found", {"Content-Type": "text/plain"})
                validators = {}
                if site.send_validators:
                    validators = {"ETag": resource.etag, "Last-Modified": format_datetime(resource.last_modified, True)}
                if site.send_validators and self._not_modified(resource):
                    return self._send(key, 304, b"", validators)
                self._send(key, 200, resource.body, {"Content-Type": resource.content_type, **validators})

            def _not_modified(self, resource: Resource) -> bool:
                inm = self.headers.get("If-None-Match")
                if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
                    return resource.etag in {t.strip().removeprefix("W/") for t in inm.split(",")}
                ims = self.headers.get("If-Modified-Since")
                if ims:
                    try:
                        return resource.last_modified <= parsedate_to_datetime(ims)
                    except (TypeError, ValueError):
                        return False
                return False

        return Handler
