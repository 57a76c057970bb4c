"""Does a question name a council service the indexed papers never mention?

`CoverageCheck(vocabulary).absent(text)` → the phrases of the question (as the asker wrote them)
that name a council service (service/data/services.yaml: potholes, bin collections, libraries …)
with a word no indexed passage uses. Such a question cannot be answered from these papers however
near its other words come to a passage ("How much did the council spend on road repairs?" shares
"council" and "spend" with a children's services budget), and a refusal that quotes what is
missing tells the Member why. A subject the papers do mention is left to the scorer, so the check
only ever refuses; it never makes an answer. The engine passes the standalone question: a
follow-up ("And how much did that cost?") carries the subject of the turn before, which may be
the missing one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import yaml

from indexer.lexical import tokenize

SERVICES_FILE = Path(__file__).with_name("data") / "services.yaml"


@dataclass(frozen=True)
class Subject:
    name: str
    rx: re.Pattern


@functools.lru_cache(maxsize=1)
def subjects() -> tuple[Subject, ...]:
    data = yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))
    return tuple(Subject(name, re.compile(rf"\b(?:{rx})\b", re.I)) for name, rx in data["services"].items())


@dataclass
class CoverageCheck:
    vocabulary: Container[str]  # every search term some indexed passage holds

    def absent(self, text: str) -> list[str]:
        out: list[str] = []
        for s in subjects():
            for m in s.rx.finditer(text):
                words = tokenize(m.group(0))
                phrase = " ".join(m.group(0).split())
                if words and any(w not in self.vocabulary for w in words):
                    if phrase.lower() not in (o.lower() for o in out):
                        out.append(phrase)
                    break
        return out


# How every refusal opens, whatever its reason (the chat page shows the reason after the colon:
# service/static/app.js matches this text, and tests/service/test_coverage.py pins that it does).
NOT_COVERED = "The papers don't cover this"


def refusal(names: list[str]) -> str:
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"{NOT_COVERED}: no indexed paper mentions {listed}."
