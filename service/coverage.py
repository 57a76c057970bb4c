"""Does a question name a council service the indexed papers never mention?

`CoverageCheck(vocabulary).absent(question)` → the names of the subjects (service/data/services.yaml:
potholes, bin collections, libraries …) that the question names with a word no indexed passage
uses. Such a question cannot be answered from these papers however near its other words come to a
passage ("How much did the council spend on road repairs?" shares "council" and "spend" with a
children's services budget), and a refusal that says which subject is missing tells the Member
why. A subject the papers do mention is left to the scorer, so the check only ever refuses; it
never makes an answer. It reads the question's own words only: a follow-up's carried subject was
already answerable.
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

    def absent(self, question: str) -> list[str]:
        out = []
        for s in subjects():
            for m in s.rx.finditer(question):
                words = tokenize(m.group(0))
                if words and any(w not in self.vocabulary for w in words):
                    out.append(s.name)
                    break
        return out


def refusal(names: list[str]) -> str:
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"The papers don't cover this: no indexed paper mentions {listed}."
