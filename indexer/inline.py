"""Inline clean-up of one line of a paper: formatting markup out, words kept.

Formatting tags (<sup>, <u>, <ul><li> …) are removed with the standard library's HTML
tokenizer; any other tag-like text (a literal "<script>" in minutes, say) is kept as
text, because it is part of what the paper says and the page renders it as text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_FORMAT_TAGS = {"sup", "sub", "u", "b", "i", "em", "strong", "span", "small", "font", "p", "ul", "ol", "li", "br"}
_HAS_FORMAT_TAG = re.compile(rf"</?(?:{'|'.join(sorted(_FORMAT_TAGS))})\b[^>]*>", re.I)
_PDF_ICON = re.compile(r"\s*pdf icon\s+PDF\s+[\d.]+\s*[KM]B\b", re.I)
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_SPACES = re.compile(r"[ \u00a0\u2007\u202f]{2,}")


class _FormatStripper(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.items = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "li":
            self.items += 1
            self.parts.append("\n• " if self.items > 1 else "• ")
        elif tag == "br":
            self.parts.append(" ")
        elif tag not in _FORMAT_TAGS:
            self.parts.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append(" ")
        elif tag not in _FORMAT_TAGS:
            self.parts.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag not in _FORMAT_TAGS:
            self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.parts.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.parts.append(f"<!--{data}-->")

    def unknown_decl(self, data: str) -> None:
        self.parts.append(f"<![{data}]>")


def strip_format_tags(text: str) -> str:
    if not _HAS_FORMAT_TAG.search(text):
        return text
    parser = _FormatStripper()
    parser.feed(text)
    parser.close()
    rawdata = getattr(parser, "rawdata", "")
    return "".join(parser.parts) + rawdata


def clean_inline(text: str) -> str:
    """Markdown emphasis, formatting tags, web-page noise and doubled spaces removed."""
    text = strip_format_tags(text)
    text = _PDF_ICON.sub("", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = text.replace("**", "")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)
