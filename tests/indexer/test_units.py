"""Pins the genre conventions in indexer/data/genre.yaml as used by indexer/units.py and
indexer/facts.py: label lines, form-field roles, lists with their items, meeting facts and table
column facts, each with exact character spans into the clean text.

The examples are invented papers in the styles of other English councils (a district council's
planning committee minutes, a county council's report cover sheet, options appraisal tables), not
the corpus.
"""

from __future__ import annotations

import pytest

from indexer.chunker import Chunker
from indexer.facts import build_facts
from indexer.models import Unit
from indexer.structure import parse_structure
from indexer.units import assign_chunks, build_units, field_role, is_label_line


def build(source: str, doc_id: str = "doc") -> tuple[str, list[Unit], list[Unit]]:
    text, blocks = parse_structure(source)
    words = lambda s: len(s.split())  # noqa: E731
    _, chunks, _ = Chunker(words, words, 256, budget=200).chunk(doc_id, text, blocks)
    units = build_units(doc_id, text, blocks, chunks)
    facts = assign_chunks(build_facts(doc_id, text, blocks, units), chunks)
    return text, units, facts


def value(text: str, u: Unit) -> str:
    return text[u.value_start : u.value_end]


def check_spans(text: str, u: Unit, expected: str, items: list[str] | None = None) -> None:
    assert value(text, u) == expected
    assert expected in text[u.start : u.end]
    assert u.start <= u.value_start <= u.value_end <= u.end
    if items is not None:
        assert [text[s:e] for s, e in u.parts] == items
    assert u.chunks


def only(units: list[Unit], **attrs) -> Unit:
    found = [u for u in units if all(getattr(u, k) == v for k, v in attrs.items())]
    assert len(found) == 1, f"{attrs}: {found}"
    return found[0]


# -- is_label_line / field_role -------------------------------------------------------------
@pytest.mark.parametrize(
    "line, expected",
    [
        ("Report author(s):", True),
        ("Contact Officer:", True),
        ("Wards affected", True),
        ("Ward(s) Affected", True),
        ("Key decision?", True),
        ("Is this a Key Decision within the meaning of the Constitution?", True),
        ("PRESENT:", True),
        ("Recommendations", True),
        ("The Committee noted the report.", False),  # a sentence
        ("Members asked whether the car park would be closed during the works.", False),
        ("Contact: Jane Doe, Democratic Services Officer", False),  # an inline field, not a label
        ("• Councillor A Brown", False),  # a bullet
        ("Report author:\nJane Doe", False),  # two lines
        ("The Committee noted the update on the Local Plan timetable", False),  # too long to be a label
        ("Members were content,", False),
        ("", False),
    ],
)
def test_is_label_line(line, expected):
    assert is_label_line(line) is expected


@pytest.mark.parametrize(
    "label, role",
    [
        ("PRESENT", "present"),
        ("Members Present", "present"),
        ("Councillors present", "present"),
        ("Membership", "present"),
        ("Also in attendance", "also_attended"),
        ("In attendance", "also_attended"),
        ("Officers present", "also_attended"),
        ("Apologies for absence", "apologies"),
        ("Report author(s)", "author"),
        ("Report Author", "author"),
        ("Prepared by", "author"),
        ("Lead officer", "author"),
        ("Contact Officer", "contact"),
        ("Contact details", "contact"),
        ("Further information", "contact"),
        ("Accountable officer", "accountable_officer"),
        ("Sponsoring Director", "accountable_officer"),
        ("Cabinet Member", "portfolio_holder"),
        ("Portfolio Holder", "portfolio_holder"),
        ("Venue", "venue"),
        ("Date of meeting", "meeting"),
        ("Wards affected", "wards"),
        ("Ward(s) Affected", "wards"),
        ("Key decision?", "key_decision"),
        ("Is this a Key Decision?", "key_decision"),
        ("Background papers", "background_papers"),
        ("Report title", "report_title"),
        ("Title of report", "report_title"),
        ("Financial implications", None),
        ("Purpose of report", None),
        ("Summary", None),
    ],
)
def test_field_role(label, role):
    assert field_role(label) == role


# -- meeting facts in minutes ---------------------------------------------------------------
MINUTES = """ANYTOWN DISTRICT COUNCIL

PLANNING COMMITTEE

Minutes of the meeting held on Tuesday, 3 May 2024 at the Council Offices, Market Street, Anytown - 7.00 pm

PRESENT: Councillor J Smith (Chairman), Councillor P Grey (Vice-Chairman), Councillors A Brown, C Green

Also in attendance: Mr K Shah, Head of Planning

Apologies for absence were received from Councillors D White and E Black.

44. Declarations of Interest

None.

45. Planning Application 23/01234/FUL - Land at Mill Lane

RESOLVED: That the application be approved subject to conditions.

46. Minutes

It was RESOLVED that the minutes of the meeting held on 5 April 2024 be confirmed as a correct record.

The meeting closed at 8.45 pm.
"""


@pytest.mark.parametrize(
    "role, expected",
    [
        ("started", "7.00 pm"),
        ("chair", "Councillor J Smith"),
        ("vice_chair", "Councillor P Grey"),
        ("present", "Councillor J Smith (Chairman), Councillor P Grey (Vice-Chairman), Councillors A Brown, C Green"),
        ("also_attended", "Mr K Shah, Head of Planning"),
        ("apologies", "Councillors D White and E Black"),
        ("resolution", "That the application be approved subject to conditions"),
        ("resolution", "the minutes of the meeting held on 5 April 2024 be confirmed as a correct record"),
        ("ended", "8.45 pm"),
    ],
)
def test_minutes_facts(role, expected):
    text, _, facts = build(MINUTES)
    fact = only([f for f in facts if value(text, f) == expected], role=role)
    check_spans(text, fact, expected)


def test_none_under_declarations_is_not_a_declaration():
    _, _, facts = build(MINUTES)
    assert [f for f in facts if f.role == "declarations"] == []


@pytest.mark.parametrize(
    "heading, para, expected",
    [
        (
            "4. Declarations of Interest",
            "Councillor T Khan declared a disclosable pecuniary interest in item 6 and left the room.",
            "Councillor T Khan declared a disclosable pecuniary interest in item 6 and left the room",
        ),
        (
            "4. Declarations of Interest",
            "Councillor A Brown informed the Committee that she was a member of the Parish Council.",
            "Councillor A Brown informed the Committee that she was a member of the Parish Council",
        ),
        ("4. Declarations of Interest", "None.", None),
        # the same words under another item are not a declaration
        ("8. Public Participation", "Councillor A Brown informed the Committee that she had visited the site.", None),
    ],
)
def test_declarations(heading, para, expected):
    text, _, facts = build(f"{heading}\n\n{para}\n")
    found = [f for f in facts if f.role == "declarations"]
    if expected is None:
        assert found == []
    else:
        check_spans(text, only(found), expected)


@pytest.mark.parametrize(
    "line, role, expected",
    [
        ("Apologies for absence were submitted on behalf of Councillor M Hughes.", "apologies", "Councillor M Hughes"),
        ("The meeting ended at 12.53 pm.", "ended", "12.53 pm"),
        ("The meeting commenced at 10.03 am.", "started", "10.03 am"),
        ("Resolved that the budget be approved.", "resolution", "the budget be approved"),
        ("AGREED: to defer the item to the next meeting.", "resolution", "to defer the item to the next meeting"),
        ("Councillor Mrs P Jones (Chair) welcomed everyone to the meeting.", "chair", "Councillor Mrs P Jones"),
        ("Councillor J. Smith (in the Chair) opened the meeting.", "chair", "Councillor J. Smith"),
        pytest.param("Chairman: Councillor J Smith", "chair", "Councillor J Smith"),
        pytest.param(
            "Apologies for absence were received from Councillors S. Patel and R. Young.",
            "apologies",
            "Councillors S. Patel and R. Young",
        ),
        pytest.param("The meeting ended at 9.05 p.m.", "ended", "9.05 p.m."),
    ],
)
def test_sentence_facts(line, role, expected):
    text, _, facts = build(line + "\n")
    check_spans(text, only(facts, role=role), expected)


# -- report cover sheet: label on one line, value on the next --------------------------------
COVER_SHEET = """SHIRE COUNTY COUNCIL

Cabinet - 14 March 2024

Report title:

Highways Maintenance Contract Extension

Report author(s):

Jane Doe, Highways Commissioning Manager

Contact Officer:

John Roe, Democratic Services Officer

Cabinet Member:

Councillor M Ali, Cabinet Member for Highways

Wards affected

All

Key decision?

Yes

Background papers

None

Contact: Jane Doe, Democratic Services Officer, tel. 01234 567890
"""


@pytest.mark.parametrize(
    "label, expected, role",
    [
        ("Report title", "Highways Maintenance Contract Extension", "report_title"),
        ("Report author(s)", "Jane Doe, Highways Commissioning Manager", "author"),
        ("Contact Officer", "John Roe, Democratic Services Officer", "contact"),
        ("Cabinet Member", "Councillor M Ali, Cabinet Member for Highways", "portfolio_holder"),
        ("Wards affected", "All", "wards"),
        ("Key decision?", "Yes", "key_decision"),
        ("Background papers", "None", "background_papers"),
        ("Contact", "Jane Doe, Democratic Services Officer, tel. 01234 567890", "contact"),  # inline field
    ],
)
def test_cover_sheet_fields_and_facts(label, expected, role):
    text, units, facts = build(COVER_SHEET)
    field = only(units, kind="field", label=label)
    check_spans(text, field, expected)
    assert text[field.start : field.end].startswith(label)
    fact = only([f for f in facts if value(text, f) == expected], role=role)
    check_spans(text, fact, expected)
    assert (fact.start, fact.end) == (field.start, field.end)


def test_cover_sheet_title_lines_are_not_fields_of_each_other():
    text, units, _ = build(COVER_SHEET)
    labels = {u.label for u in units if u.kind == "field"}
    assert "SHIRE COUNTY COUNCIL" not in labels
    # a label is never taken as the value of the label line above it
    assert not any(value(text, u).rstrip().endswith(":") for u in units if u.kind == "field")


# -- lists: a lead-in or list label with the items it introduces ------------------------------
POINTS = [
    "the car park would be closed for six weeks",
    "residents had not been consulted",
    "the cost had risen since the last report",
]
RECS = ["1. That the Committee notes the report.", "2. That the scheme be referred to Cabinet."]
BULLETS = "".join(f"- {p}\n" for p in POINTS)


@pytest.mark.parametrize(
    "source, label, items, role",
    [
        (
            f"During the debate, Members of the Committee raised the following points of concern:\n\n{BULLETS}",
            "During the debate, Members of the Committee raised the following points of concern:",
            POINTS,
            None,
        ),
        # the lead-in is the paragraph's last sentence
        (
            "The Head of Planning presented the report. "
            f"In discussion, the Committee raised the points set out below:\n\n{BULLETS}",
            "In discussion, the Committee raised the points set out below:",
            POINTS,
            None,
        ),
        (f"## Recommendations\n\n{RECS[0]}\n\n{RECS[1]}\n", "Recommendations", RECS, "recommendations"),
        (f"Recommendations\n\n{RECS[0]}\n{RECS[1]}\n", "Recommendations", RECS, "recommendations"),
        (
            "**6. Recommendations**\n\n(a) That the revised fees be approved.\n\n"
            "(b) That the fees take effect from 1 April.\n",
            "6. Recommendations",
            ["(a) That the revised fees be approved.", "(b) That the fees take effect from 1 April."],
            "recommendations",
        ),
        (
            "## Decisions\n\n- The budget was approved.\n- The item on the depot was deferred.\n",
            "Decisions",
            ["The budget was approved.", "The item on the depot was deferred."],
            "resolutions",
        ),
        (
            "## Next steps\n\n- Consult residents in June\n- Report back to Cabinet in September\n",
            "Next steps",
            ["Consult residents in June", "Report back to Cabinet in September"],
            None,
        ),
        # reasons for the recommendations are a list, but not the recommendations
        (
            "## Reasons for the recommendations\n\n- The depot lease ends in 2025.\n- The site is not big enough.\n",
            "Reasons for the recommendations",
            ["The depot lease ends in 2025.", "The site is not big enough."],
            None,
        ),
        # a sub-bullet belongs to its item
        (
            "Following a lengthy debate, Members raised the following concerns:\n\n- Parking on Mill Lane\n"
            "    o especially on match days\n- Flooding near the brook\n",
            "Following a lengthy debate, Members raised the following concerns:",
            ["Parking on Mill Lane\n    ◦ especially on match days", "Flooding near the brook"],
            None,
        ),
    ],
)
def test_lists(source, label, items, role):
    text, units, facts = build(source)
    lst = only(units, kind="list")
    assert lst.label == label
    whole = text[lst.parts[0][0] : lst.parts[-1][1]]
    check_spans(text, lst, whole, items)
    assert text[lst.start : lst.end].startswith(label) or lst.start == lst.value_start
    list_facts = [f for f in facts if f.role in ("recommendations", "resolutions")]
    if role is None:
        assert list_facts == []
    else:
        fact = only(list_facts, role=role)
        check_spans(text, fact, whole, items)


@pytest.mark.parametrize(
    "source",
    [
        # the paragraph before the bullets does not end in ':' or say the list follows
        f"The report was noted and Members thanked officers for their work.\n\n{BULLETS}",
        f"Members noted the points made by the applicant's agent.\n\n{BULLETS}",
        # a lead-in with a single item is not a list
        "During the debate, Members of the Committee raised the following point of concern:\n\n- parking\n",
        # a heading that is not a list label
        f"## Financial implications\n\n{BULLETS}",
    ],
)
def test_not_a_list(source):
    _, units, _ = build(source)
    assert [u for u in units if u.kind == "list"] == []


@pytest.mark.parametrize(
    "source, label, items",
    [
        pytest.param(
            f"The Committee raised the following points:\n\n{BULLETS}",
            "The Committee raised the following points:",
            POINTS,
        ),
        pytest.param(
            "The Committee was asked to:\n\n(a) note the consultation responses;\n\n(b) agree the revised timetable.\n",
            "The Committee was asked to:",
            ["(a) note the consultation responses;", "(b) agree the revised timetable."],
        ),
        pytest.param(
            f"Following discussion, the Committee was asked to consider the following recommendations:\n\n"
            f"{RECS[0]}\n{RECS[1]}\n",
            "Following discussion, the Committee was asked to consider the following recommendations:",
            RECS,
        ),
    ],
)
def test_short_lead_ins_make_lists(source, label, items):
    text, units, _ = build(source)
    lst = only(units, kind="list")
    assert lst.label == label
    check_spans(text, lst, text[lst.parts[0][0] : lst.parts[-1][1]], items)


def test_present_label_with_bulleted_names():
    text, _, facts = build("Members present:\n\n- Councillor J Smith\n- Councillor A Brown\n- Councillor C Green\n")
    fact = only(facts, role="present")
    assert "Councillor J Smith" in value(text, fact) and "Councillor C Green" in value(text, fact)
    assert fact.chunks


# -- tables: cells and highest / lowest column facts ----------------------------------------
# Options as rows: each numeric column is compared down the options.
OPTIONS_AS_ROWS = (
    "Option\tCapital cost (£k)\tScore\n"
    "Option A - Do nothing\t0\t35\n"
    "Option B - Refurbish\t450\t72\n"
    "Option C - New build\t1,200\t64\n"
)
# Options as columns: each criterion row is compared across the options.
OPTIONS_AS_COLUMNS = (
    "Criterion\tOption 1: In-house\tOption 2: Trust\tOption 3: Outsource\n"
    "Quality\t30\t25\t20\n"
    "Cost\t20\t25\t25\n"
    "Total score\t50\t50\t45\n"
)
SITES = "Site\tHomes\tAffordable %\nNorth Quarter\t120\t30%\nMill Lane\t80\t30%\nStation Road\t45\t25%\n"


@pytest.mark.parametrize(
    "source, role, label, header, expected, compared",
    [
        (OPTIONS_AS_ROWS, "column_highest", "Option B - Refurbish", "Score", "72", ["35", "72", "64"]),
        (OPTIONS_AS_ROWS, "column_lowest", "Option A - Do nothing", "Score", "35", ["35", "72", "64"]),
        (
            OPTIONS_AS_ROWS,
            "column_highest",
            "Option C - New build",
            "Capital cost (£k)",
            "1,200",
            ["0", "450", "1,200"],
        ),
        (OPTIONS_AS_ROWS, "column_lowest", "Option A - Do nothing", "Capital cost (£k)", "0", ["0", "450", "1,200"]),
        (OPTIONS_AS_COLUMNS, "row_highest", "Quality", "Option 1: In-house", "30", ["30", "25", "20"]),
        (OPTIONS_AS_COLUMNS, "row_lowest", "Quality", "Option 3: Outsource", "20", ["30", "25", "20"]),
        (OPTIONS_AS_COLUMNS, "row_lowest", "Total score", "Option 3: Outsource", "45", ["50", "50", "45"]),
        (SITES, "column_highest", "North Quarter", "Homes", "120", ["120", "80", "45"]),
        (SITES, "column_lowest", "Station Road", "Affordable %", "25%", ["30%", "30%", "25%"]),
    ],
)
def test_column_facts(source, role, label, header, expected, compared):
    text, units, _ = build(source)
    fact = only(units, kind="column_fact", role=role, header=header, label=label)
    check_spans(text, fact, expected, compared)
    assert text[fact.start : fact.end].startswith(label)  # cited to the row that holds it


@pytest.mark.parametrize(
    "source, role, along",
    [
        (OPTIONS_AS_COLUMNS, "row_highest", "Total score"),  # 50 / 50 / 45: In-house and Trust tie
        (OPTIONS_AS_COLUMNS, "row_highest", "Cost"),  # 20 / 25 / 25
        (SITES, "column_highest", "Affordable %"),  # 30% / 30% / 25%
    ],
)
def test_a_tie_gives_no_column_fact(source, role, along):
    """`along` is the row label (row_ roles) or the column header (column_ roles) compared."""
    _, units, _ = build(source)
    key = "label" if role.startswith("row_") else "header"
    assert [u for u in units if u.kind == "column_fact" and u.role == role and getattr(u, key) == along] == []


def test_two_rows_are_too_few_to_rank():
    _, units, _ = build("Option\tScore\nA\t10\nB\t20\n")
    assert [u for u in units if u.kind == "column_fact"] == []


@pytest.mark.parametrize(
    "source, label, header, expected",
    [
        (OPTIONS_AS_ROWS, "Option B - Refurbish", "Capital cost (£k)", "450"),
        (OPTIONS_AS_COLUMNS, "Cost", "Option 2: Trust", "25"),
        (SITES, "Mill Lane", "Affordable %", "30%"),
    ],
)
def test_cells_are_addressed_by_row_and_column(source, label, header, expected):
    text, units, _ = build(source)
    cell = only(units, kind="cell", label=label, header=header)
    check_spans(text, cell, expected)
