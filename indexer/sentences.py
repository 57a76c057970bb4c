"""Sentence spans with pysbd (rule-based, handles 'Mr', 'e.g.', '£4.6 million', '12.53 pm').

pysbd occasionally splits inside a token ("c." | "£7.5m"); a split with no white space
between the two pieces cannot be a sentence boundary, so such pieces are re-joined.
"""

from __future__ import annotations

import functools
import re

_WS = re.compile(r"\s")
_MARKER = re.compile(r"^[•◦▪·]\s+")


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            lead = len(line) - len(line.lstrip())
            marker = _MARKER.match(line[lead:])
            lead += marker.end() if marker else 0
            spans.append((pos + lead, pos + len(line.rstrip())))
        pos += len(line) + 1
    return spans


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans (absolute, via `offset`) of the sentences of `text`, trimmed of white space."""
    out: list[tuple[int, int]] = []
    for line_start, line_end in _line_spans(text):
        line = text[line_start:line_end]
        pieces = _segmenter().segment(line)
        cursor = 0
        spans: list[list[int]] = []
        for piece in pieces:
            stripped = piece.strip()
            if not stripped:
                continue
            found = line.find(stripped, cursor)
            if found < 0:  # pysbd changed the text: fall back to the whole line
                spans = [[0, len(line)]]
                break
            end = found + len(stripped)
            if spans and found == spans[-1][1] and not _WS.match(line[found - 1 : found] or " "):
                spans[-1][1] = end  # split inside a token: not a boundary
            else:
                spans.append([found, end])
            cursor = end
        out.extend((offset + line_start + s, offset + line_start + e) for s, e in spans)
    return out
