"""The ModernGov web service (`mgWebService.asmx`, plain HTTP GET binding): URLs and response parsing.

Where each part of the shape comes from (see docs/moderngov.md for the list of sources):

* URLs `GetCommittees`, `GetMeetings?lCommitteeId=&sFromDate=dd/mm/yyyy&sToDate=`, `GetMeeting?lMeetingId=`:
  DemocracyClub/LGSF lgsf/minutes/scrapers.py (ModGovMinutesScraper.format_*_api_url) and the
  pyPreservica.Gov harvester for Preservica (calls GetCommittees, then GetMeetings with the same three
  parameters, then GetMeeting with lMeetingId).
* Response elements, all lowercase, no namespace: LGSF's recorded fixtures from
  democracy.manchester.gov.uk, lgsf/minutes/tests/fixtures/{committees,meetings,meeting_with_minutes}.xml:
  `committees/committee/{committeeid,committeetitle,committeedeleted,committeeexpired}`;
  `getmeetings/committee/committeemeetings/meeting/{meetingid,meetingdate,meetingstatus}`;
  `meeting/{meetingid,meetingdate,minutepublished,agendaitems/agendaitem}` with per item
  `agendaitemid, agendaitemtitle, agendaitemnumber, fulldisplaynumberformat, minutesitemnumber,
  minutesnonemptyhtmlbody, isminutepublished, linkeddocuments/linkeddoc/{attachmentid,title,url,
  isrestricted,ownertitle}`. Counts arrive padded (`<committeescount> 3</...>`), hence the strips.
* Dates are dd/mm/yyyy (LGSF DATE_FORMAT; the fixtures), sometimes followed by a time.
* `fulldisplaynumberformat` is the number printed on the agenda ("9.") while `agendaitemnumber` is an
  internal order (12 for that same item in the Manchester fixture), so the printed one is preferred.
* Titles may be escaped twice (`&amp;amp;`), so they are unescaped once more after XML parsing:
  reported for Lambeth in a public budget-data project's tests (test_double_escaped_titles...).
* One report (Lambeth) says GetMeetings ignores sFromDate/sToDate, so meetings are also filtered here.

Verified only against tests/fake_moderngov.py (built from the sources above, no live site could be
reached here): how real sites answer over HTTP (validators, 304s, error statuses), and that every
site answers GetCommittees without parameters (LGSF and pyPreservica.Gov call it bare; one public
note calls it as `GetCommittees?lDays=0`). The parsers
find `meeting`/`committee`/`linkeddoc` anywhere in the tree, so a flatter layout would parse too.
The XML is parsed with the standard library; its expat (2.5 here) refuses entity-expansion bombs.
"""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

SERVICE = "mgWebService.asmx"
DATE_FORMAT = "%d/%m/%Y"


class ResponseError(Exception):
    """The web service answered with something that is not the XML its operation returns."""


def committees_url(base: str) -> str:
    return f"{base}/{SERVICE}/GetCommittees"


def meetings_url(base: str, committee_id: str, since: dt.date, until: dt.date) -> str:
    query = urlencode(
        {"lCommitteeId": committee_id, "sFromDate": since.strftime(DATE_FORMAT), "sToDate": until.strftime(DATE_FORMAT)}
    )
    return f"{base}/{SERVICE}/GetMeetings?{query}"


def meeting_url(base: str, meeting_id: str) -> str:
    return f"{base}/{SERVICE}/GetMeeting?{urlencode({'lMeetingId': meeting_id})}"


def meeting_page_url(base: str, committee_id: str, meeting_id: str) -> str:
    """The meeting's public web page (agenda, papers, minutes): `ieListDocuments.aspx?CId=&MId=`, the
    address public code and notes use for meeting pages on many councils' ModernGov sites (some add
    `&Ver=4`, which the page does not need); not checked against a live site here."""
    return f"{base}/ieListDocuments.aspx?{urlencode({'CId': committee_id, 'MId': meeting_id})}"


@dataclass(frozen=True)
class Committee:
    id: str
    title: str
    deleted: bool = False
    expired: bool = False


@dataclass(frozen=True)
class MeetingStub:
    id: str
    date: dt.date | None
    status: str


@dataclass(frozen=True)
class LinkedDoc:
    attachment_id: str
    title: str
    url: str
    restricted: bool


@dataclass(frozen=True)
class AgendaItem:
    number: str
    title: str
    minutes_number: str
    minutes_html: str  # the minute text for this item as HTML, "" when none is published
    documents: list[LinkedDoc] = field(default_factory=list)


@dataclass(frozen=True)
class Meeting:
    id: str
    date: dt.date | None
    raw_date: str
    minutes_published: bool
    items: list[AgendaItem] = field(default_factory=list)


def _root(body: bytes, operation: str) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        start = body[:80].decode("utf-8", "replace").strip()
        raise ResponseError(f"{operation} did not return XML ({exc}); it began: {start!r}") from None


def _text(node: ET.Element | None, tag: str) -> str:
    """The stripped text of the first child `tag` ('' when absent), unescaped once more (see above)."""
    found = node.find(tag) if node is not None else None
    if found is None or found.text is None:
        return ""
    return html.unescape(" ".join(found.text.split()))


def _raw(node: ET.Element, tag: str) -> str:
    """The text of `tag` as sent (HTML bodies: whitespace and markup kept)."""
    found = node.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _flag(node: ET.Element, tag: str) -> bool:
    return _text(node, tag).lower() == "true"


def parse_date(text: str) -> dt.date | None:
    """'10/02/2026' or '10/02/2026 10:30' -> date; anything else -> None (never a guess)."""
    token = text.split()[0] if text.split() else ""
    try:
        return dt.datetime.strptime(token, DATE_FORMAT).date()
    except ValueError:
        return None


def parse_committees(body: bytes) -> list[Committee]:
    root = _root(body, "GetCommittees")
    if root.tag != "committees" and root.find(".//committee") is None:
        raise ResponseError(f"GetCommittees returned <{root.tag}>, not <committees>")
    out = []
    for node in root.iter("committee"):
        cid = _text(node, "committeeid")
        if cid:
            out.append(
                Committee(
                    cid, _text(node, "committeetitle"), _flag(node, "committeedeleted"), _flag(node, "committeeexpired")
                )
            )
    return out


def parse_meetings(body: bytes) -> list[MeetingStub]:
    root = _root(body, "GetMeetings")
    out = []
    for node in root.iter("meeting"):
        mid = _text(node, "meetingid")
        if mid:
            out.append(MeetingStub(mid, parse_date(_text(node, "meetingdate")), _text(node, "meetingstatus")))
    return out


def _number(item: ET.Element) -> str:
    printed = _text(item, "fulldisplaynumberformat").rstrip(".").strip()
    if printed:
        return printed
    return _text(item, "agendaitemnumber") + _text(item, "agendaitemsubnumber")


def parse_meeting(body: bytes) -> Meeting:
    root = _root(body, "GetMeeting")
    node = root if root.tag == "meeting" else root.find(".//meeting")
    if node is None:
        raise ResponseError(f"GetMeeting returned <{root.tag}>, not <meeting>")
    items = []
    for item in node.iter("agendaitem"):
        docs, seen = [], set()
        for doc in item.iter("linkeddoc"):
            url = _text(doc, "url")
            if url and url not in seen:  # the same attachment can be linked twice from one item
                seen.add(url)
                docs.append(LinkedDoc(_text(doc, "attachmentid"), _text(doc, "title"), url, _flag(doc, "isrestricted")))
        published = _text(item, "isminutepublished").lower() != "false"  # absent: trust the body's presence
        items.append(
            AgendaItem(
                number=_number(item),
                title=_text(item, "agendaitemtitle"),
                minutes_number=_text(item, "minutesitemnumber"),
                minutes_html=_raw(item, "minutesnonemptyhtmlbody") if published else "",
                documents=docs,
            )
        )
    raw_date = _text(node, "meetingdate")
    return Meeting(_text(node, "meetingid"), parse_date(raw_date), raw_date, _flag(node, "minutepublished"), items)


def select_committees(found: list[Committee], wanted: tuple[str, ...]) -> list[Committee]:
    """--committee values matched by id or case-insensitive title; none given: every undeleted committee."""
    if not wanted:
        return [c for c in found if not c.deleted]
    chosen: list[Committee] = []
    for value in wanted:
        match = [c for c in found if c.id == value.strip() or c.title.casefold() == value.strip().casefold()]
        if not match:
            raise LookupError(f"no committee '{value}' on this site (give its id or exact name; {len(found)} listed)")
        chosen += [c for c in match if c not in chosen]
    return chosen
