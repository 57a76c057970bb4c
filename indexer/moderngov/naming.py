"""Names and labels for fetched papers: slugs, manifest ids, file names, document types, council names.

Kept apart from the HTTP and manifest code because every rule here is a judgement about the
site's wording (titles, host names), and each one is something a reviewer should be able to read
in one place.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from urllib.parse import urlsplit

MAX_ID = 100  # the brief's limit; indexer.corpus accepts up to 101

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lowercase ASCII words joined by '-' ('Planning & Highways' -> 'planning-highways')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")


def document_id(council: str, committee: str, date: str | None, doc_type: str, doc_key: str) -> str:
    """`<council>-<committee>-<yyyy-mm-dd>-<doctype>-<key>`, at most MAX_ID characters.

    The tail (date, type, key) carries the uniqueness, so when the whole is too long the committee
    name is shortened first, then the council name; the tail is never cut.
    """
    tail = "-".join(p for p in (date, doc_type, slug(doc_key)) if p)
    head = [slug(council) or "council", slug(committee) or "committee"]
    room = MAX_ID - len(tail) - 1
    while len("-".join(head)) > room and any(head):
        longest = max(range(len(head)), key=lambda i: len(head[i]))
        head[longest] = head[longest][: max(0, len(head[longest]) - 1)].rstrip("-")
    parts = [p for p in head if p] + [tail]
    return "-".join(parts)[:MAX_ID].strip("-")


# Words in ModernGov host names that name the software or the service, not the council:
# democracy.manchester.gov.uk, barnet.moderngov.co.uk, moderngov.lambeth.gov.uk,
# www.minutes.haringey.gov.uk (hosts from DemocracyClub/LGSF metadata and public notes).
_GENERIC_HOST_WORDS = {
    "www",
    "democracy",
    "democratic",
    "moderngov",
    "modgov",
    "mgov",
    "committees",
    "committee",
    "minutes",
    "meetings",
    "councillors",
    "council",
    "decisions",
    "gov",
    "co",
    "org",
    "uk",
    "com",
    "net",
    "localhost",
}


def council_from_host(base_url: str) -> str | None:
    """A council name guessed from the host ('democracy.manchester.gov.uk' -> 'Manchester'), or None."""
    host = urlsplit(base_url).hostname or ""
    if not host or re.fullmatch(r"[0-9.]+|\[?[0-9a-f:]+\]?", host):
        return None  # an IP address names no council
    words = [w for w in host.split(".") if w and w not in _GENERIC_HOST_WORDS]
    if not words:
        return None
    return " ".join(w.replace("-", " ").title() for w in words)


def council_name(given: str | None, base_url: str) -> tuple[str, str]:
    """The council's name and how it was found. The web service has no operation naming the council
    in any source consulted, so without --council it is read from the host name."""
    if given:
        return given, "given with --council"
    derived = council_from_host(base_url)
    if derived:
        return derived, "derived from the site's host name (the ModernGov web service does not name the council)"
    return base_url.split("//", 1)[-1], "the site's host: no council name in it or from the web service"


# Document types from a linked document's title and the title of the agenda item it hangs on.
# DemocracyClub/LGSF (lgsf/minutes/scrapers.py, categorise_document) uses "minute" and "agenda" in the
# title; "reports pack" and "frontsheet" are ModernGov's own names for agenda packs. Everything
# else linked from an agenda item is taken to be a report to that item.
_AGENDA_WORDS = re.compile(r"\bagenda\b|\breports? pack\b|\bfront ?sheet\b", re.IGNORECASE)
_MINUTES_WORD = re.compile(r"\bminute", re.IGNORECASE)


def classify(title: str, item_title: str) -> str:
    """'minutes', 'agenda' or 'report' for a document linked from an agenda item."""
    if _MINUTES_WORD.search(title) or re.match(r"\s*minutes\b", item_title, re.IGNORECASE):
        return "minutes"
    if _AGENDA_WORDS.search(title):
        return "agenda"
    return "report"


_MONTHS = {m.lower(): i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}
_DATE_WORDS = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?[ -]([A-Za-z]{3,9})[ -,]*(\d{4})\b")
_DATE_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def date_in_title(title: str) -> dt.date | None:
    """The first date a title names ('Minutes Audit Committee 25 Nov 2025' -> 2025-11-25), or None.

    Used only to recognise minutes the corpus already holds as HTML, never as a meeting_date.
    """
    for match in _DATE_WORDS.finditer(title):
        month = _MONTHS.get(match.group(2)[:3].lower())
        if month:
            try:
                return dt.date(int(match.group(3)), month, int(match.group(1)))
            except ValueError:
                continue
    for match in _DATE_SLASH.finditer(title):
        try:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            continue
    return None


def long_date(day: dt.date) -> str:
    """'10 February 2026' (no leading zero), the style of the existing manifest titles."""
    return f"{day.day} {day:%B %Y}"
