"""An alert's Atom 1.0 feed (RFC 4287): one entry per passage found after the alert was saved.

Built with ElementTree, so every text is XML-escaped by the serializer (a passage may hold `<`, `&`
or markup quoted from a web page). Characters XML 1.0 cannot carry at all (control characters other
than tab and newline) are replaced by U+FFFD in the feed; the JSON view keeps the passage verbatim.

Entry ids are tag: URIs (RFC 4151) built from the alert's creation date, its id and the passage key,
so a feed reader sees the same entry as the same entry whatever the index version.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from service.alerts.models import Alert, Match

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _date_words(iso: str | None) -> str:
    if not iso:
        return "date not stated"
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B %Y')}"


def where_line(m: Match) -> str:
    """'Cabinet, 14 December 2017, item 1839' — the body, meeting date and item of a cited passage."""
    parts = [m.body or m.title, _date_words(m.meeting_date)]
    if m.item:
        parts.append(f"item {m.item}")
    return ", ".join(parts)


def entry_id(alert: Alert, m: Match) -> str:
    return f"tag:minutes-qa,{alert.created[:10]}:alerts/{alert.id}/{m.id}"


def feed_title(alert: Alert) -> str:
    return alert.title or f"minutes-qa alert: {alert.query}"


def render_feed(alert: Alert, matches: list[Match], base_url: str) -> bytes:
    """The feed document; `matches` newest first, baseline matches are left out; links are absolute
    under `base_url` (the service's public address)."""
    base = base_url.rstrip("/")
    new = [m for m in matches if not m.baseline]
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = _xml_text(text)
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"tag:minutes-qa,{alert.created[:10]}:alerts/{alert.id}")
    sub(feed, "title", feed_title(alert))
    sub(feed, "subtitle", f"New passages in the council papers matching: {alert.query}")
    sub(feed, "updated", max([alert.created, *(m.found for m in new)]))
    sub(feed, "link", rel="self", type=MEDIA_TYPE, href=f"{base}{alert.feed_url}")
    sub(feed, "link", rel="alternate", type="application/json", href=f"{base}{alert.url}")
    author = sub(feed, "author")
    sub(author, "name", "minutes-qa")
    sub(feed, "generator", "minutes-qa")
    for m in new:
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(alert, m))
        sub(entry, "title", f"{m.title}: {_snippet(m.text)}")
        sub(entry, "updated", m.found)
        sub(entry, "published", m.found)
        sub(entry, "link", rel="alternate", type="text/html", href=f"{base}{m.url}")
        sub(entry, "content", f"{m.text}\n\n{where_line(m)}", type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def _snippet(text: str, limit: int = 80) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rsplit(" ", 1)[0] + "…"
