"""Follow-up questions → a standalone retrieval query, using the conversation so far.

Two kinds of follow-up are resolved:
- elliptical ("And the independent organisation?", "What about the Joint Venture?"):
  the previous question is re-asked with its subject replaced by the new one;
- referring ("When was that agreed?", "Why did they do it?"): the previous question's
  words are carried into the query as context.
Carried words weigh less than the user's own words when sentences are scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.lexical import tokenize

_ELLIPTICAL = re.compile(
    r"^\s*(?:and|but|also|so)?\s*(?:what about|how about|and for|same for|and|as for)\s+"
    r"(?:the\s+)?(?P<subject>.+?)[?.!]*\s*$",
    re.I,
)
_REFERRING = re.compile(r"\b(it|its|that|this|they|them|those|these|he|she|his|her|there|then|the same)\b", re.I)
_PROPER_PHRASE = re.compile(
    r"(?:\b(?:the\s+)?[A-Z][\w’'-]*(?:\s+(?:of|and|for|the|with)?\s*[A-Z][\w’'-]*)+|\b[A-Z]{2,}\b)"
)
_QUESTION_WORD = re.compile(
    r"^(what|which|who|when|why|how|where|did|does|do|was|were|is|are|has|have|can|could|would|will)\b", re.I
)


@dataclass
class StandaloneQuery:
    text: str  # the query used for retrieval, readable by a person
    own_terms: list[str]  # terms the user typed this turn
    carried_terms: list[str]  # terms carried over from earlier turns
    is_follow_up: bool = False
    subject: str | None = None  # the named thing the query is about, when known


def _subject_span(query: StandaloneQuery) -> tuple[int, int] | None:
    """Where the main named thing sits in a question, e.g. 'the Wholly Owned Council Company'."""
    text = query.text
    if query.subject and query.subject in text:
        i = text.index(query.subject)
        return i, i + len(query.subject)
    skip = _QUESTION_WORD.match(text)
    matches = list(_PROPER_PHRASE.finditer(text, skip.end() if skip else 0))
    if not matches:
        return None
    best = max(matches, key=lambda m: len(m.group(0)))
    return best.start(), best.end()


def _carried(text: str, own: list[str]) -> list[str]:
    return [t for t in tokenize(text) if t not in own and t != "following"]


def resolve(question: str, history_user_turns: list[str]) -> StandaloneQuery:
    question = question.strip()
    own = tokenize(question)
    if not history_user_turns:
        return StandaloneQuery(question, own, [])
    previous = resolve(history_user_turns[-1], history_user_turns[:-1])
    ellipsis = _ELLIPTICAL.match(question)
    if ellipsis and len(ellipsis.group("subject").split()) <= 8 and not _QUESTION_WORD.match(ellipsis.group("subject")):
        subject = "the " + ellipsis.group("subject").strip()
        span = _subject_span(previous)
        if span:
            rewritten = previous.text[: span[0]] + subject + previous.text[span[1] :]
            rewritten = re.sub(r"\bthe the\b", "the", rewritten)
            return StandaloneQuery(rewritten, own, _carried(rewritten, own), True, subject)
        return StandaloneQuery(f"{previous.text} — {question}", own, _carried(previous.text, own), True)
    if _REFERRING.search(question) or len(own) <= 2:
        return StandaloneQuery(
            f"{question} (following: {previous.text})", own, _carried(previous.text, own), True, previous.subject
        )
    return StandaloneQuery(question, own, [])
