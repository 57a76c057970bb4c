"""Meeting facts with exact spans: who chaired, who was present, apologies, officers, start and end
time, resolutions; for reports the author, contact, accountable officer and recommendations.

Built from the form fields and lists that `indexer.units` found and from sentence patterns of the
genre (`indexer/data/genre.yaml`): "Mrs F M Oborski (Chairman)", "Apologies were received from …",
"The meeting ended at 12.53 pm", "RESOLVED that …". Each fact is a `Unit` of kind "fact" whose
value span is the answer ("Mrs F M Oborski") inside a quoted span (the line that says it).
"""

from __future__ import annotations

import re

from indexer.models import Unit
from indexer.structure import Block
from indexer.units import field_role, genre

_DECLARATIONS_ITEM = re.compile(r"declarations?|interests?", re.I)


def build_facts(doc_id: str, text: str, blocks: list[Block], units: list[Unit]) -> list[Unit]:
    g = genre()
    facts: list[Unit] = []
    for u in units:
        if u.kind == "field":
            role = field_role(u.label or "")
            if role:
                facts.append(_fact(u, role, u.value_start, u.value_end, u.label))
        elif u.kind == "list" and (role := field_role((u.label or "").rstrip(":"))):
            # "Members present:" then one name a bullet: a people field written as a list.
            facts.append(_fact(u, role, u.value_start, u.value_end, u.label))
        elif u.kind == "list" and g["list_label_rx"].search(u.label or ""):
            word = g["list_label_rx"].search(u.label or "").group(1).lower()
            role = (
                "recommendations"
                if word.startswith("recommendation")
                else "resolutions"
                if word.startswith(("decision", "resolution"))
                else None
            )
            if role:
                facts.append(_fact(u, role, u.value_start, u.value_end, u.label))
    facts += _sentence_facts(doc_id, text, blocks, facts)
    head = _heading_time(doc_id, text)
    if head and not any(f.role == "started" for f in facts):
        facts.append(head)
    return _dedupe(facts)


def _fact(u: Unit, role: str, vs: int, ve: int, label: str | None) -> Unit:
    return Unit(
        "fact", u.doc_id, u.start, u.end, vs, ve, label=label, role=role, parts=list(u.parts), chunks=list(u.chunks)
    )


def _sentence_facts(doc_id: str, text: str, blocks: list[Block], fields: list[Unit]) -> list[Unit]:
    """Facts stated inside paragraphs and bullets (and inside people fields, for the chair)."""
    out: list[Unit] = []
    rx = genre()["sentence_facts_rx"]
    heading = ""
    for block in blocks:
        if block.kind == "heading":
            heading = block.title or ""
        if block.kind not in ("paragraph", "bullet"):
            continue
        body = text[block.start : block.end]
        for role, pattern in rx.items():
            if role == "declarations" and not _DECLARATIONS_ITEM.search(heading):
                continue  # "informed the Panel that she had …" is a declaration only under that item
            for m in pattern.finditer(body):
                if "v" not in m.re.groupindex or m.start("v") < 0:
                    continue
                vs, ve = block.start + m.start("v"), block.start + m.end("v")
                value = text[vs:ve]
                # Trailing punctuation is not part of the value, but the full stop of "p.m." is.
                value = value.rstrip(" ;,") if value.rstrip(" ;,").endswith(("a.m.", "p.m.")) else value.rstrip(" .;,")
                ve = vs + len(value)
                if not value:
                    continue
                # Quote the line the fact stands on (a field value can hold several lines).
                line_start = text.rfind("\n", block.start, vs) + 1 or block.start
                line_start = max(line_start, block.start)
                line_end = text.find("\n", ve, block.end)
                line_end = block.end if line_end < 0 else line_end
                out.append(Unit("fact", doc_id, line_start, line_end, vs, ve, role=role, label=_role_label(role)))
    return out


def _heading_time(doc_id: str, text: str) -> Unit | None:
    g = genre()
    pos = 0
    for line in text.split("\n")[: g["heading_lines"] * 2]:
        m = g["heading_time_rx"].search(line)
        if m:
            vs = pos + m.start("v")
            value = text[vs : pos + m.end("v")].rstrip(" .")
            return Unit(
                "fact", doc_id, pos, pos + len(line), vs, vs + len(value), role="started", label="Meeting date and time"
            )
        pos += len(line) + 1
    return None


def _role_label(role: str) -> str:
    return {
        "chair": "Chairman",
        "vice_chair": "Vice Chairman",
        "apologies": "Apologies",
        "ended": "The meeting ended",
        "started": "The meeting started",
        "resolution": "Resolved",
        "declarations": "Declarations of interest",
    }.get(role, role)


def _dedupe(facts: list[Unit]) -> list[Unit]:
    seen: set[tuple] = set()
    out = []
    for f in sorted(facts, key=lambda f: (f.start, f.role or "")):
        key = (f.role, f.value_start, f.value_end)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
