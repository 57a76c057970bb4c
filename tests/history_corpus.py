"""Papers added to the fixture corpus for the topic history and meeting pages: VAT is discussed at
three meetings — an undated Panel meeting (placed by its date bounds), the Panel on 22 March 2018
(the fixture's own minutes) and Cabinet on 29 March 2018, with a decision under that minute. The
Cabinet meeting has a second paper, a report on another subject (same body and date: one meeting of
two papers). The manifest lists them out of date order, so ordering is the code's doing. Written into a test's
copy of the corpus (tmp_path), never into the repository."""

from __future__ import annotations

from pathlib import Path

CABINET_ID = "cabinet-minutes-2018-03-29"
CABINET_MEETING = "cabinet-2018-03-29"
CABINET_MINUTES = """Cabinet

Thursday, 29 March 2018, County Hall - 10.00 am

Present:

Mr S E Geraghty (Chairman), Mr A T Amos and Mr A I Hardman

Apologies were received from Mr J Smith and Mrs L Hodgson.

1838 Confirmation of the Minutes

RESOLVED that the minutes of the meeting held on 8 February 2018 be confirmed as a correct record.

1839 Business Case Approval

The DfE would meet the VAT costs of the Company for as long as the service was under direction.

RESOLVED that the Business Case for a Wholly Owned Company be approved.

The meeting ended at 11.40 am
"""
# The Cabinet meeting's second paper: about highways, so no topic history or alert test meets it.
CABINET_REPORT_ID = "cabinet-report-2018-03-29"
CABINET_REPORT = """Cabinet

Thursday, 29 March 2018

1840 Highways Maintenance Contract

The Cabinet is asked to note the progress of the highways maintenance contract.

1841 Winter Gritting Routes

The gritting routes for next winter were reviewed by officers.
"""
UNDATED_ID = "panel-briefing-2018"
UNDATED_MEETING = "children-and-families-overview-and-scrutiny-panel-undated-panel-briefing-2018"
UNDATED_BRIEFING = """Alternative Delivery Model briefing

Members were reminded that a company wholly owned by the Council would not pay VAT on its services.

A timetable for the business case was shared with the Panel.
"""
PANEL_MEETING = "children-and-families-overview-and-scrutiny-panel-2018-03-22"
# Oldest first, as the history must list them (the undated briefing lies between 10 January and
# 1 March 2018: placed at the midpoint, 4 February 2018).
VAT_MEETINGS = [UNDATED_MEETING, PANEL_MEETING, CABINET_MEETING]


def add_history_papers(corpus_dir: Path) -> Path:
    (corpus_dir / f"{CABINET_ID}.txt").write_text(CABINET_MINUTES, encoding="utf-8")
    (corpus_dir / f"{UNDATED_ID}.txt").write_text(UNDATED_BRIEFING, encoding="utf-8")
    (corpus_dir / f"{CABINET_REPORT_ID}.txt").write_text(CABINET_REPORT, encoding="utf-8")
    with (corpus_dir / "manifest.yaml").open("a", encoding="utf-8") as f:
        f.write(
            f"  - id: {CABINET_ID}\n    file: {CABINET_ID}.txt\n    title: Cabinet minutes, 29 March 2018\n"
            "    council: Testshire County Council\n    body: Cabinet\n    meeting_date: '2018-03-29'\n"
            "    doc_type: minutes\n"
            f"  - id: {UNDATED_ID}\n    file: {UNDATED_ID}.txt\n    title: ADM briefing\n"
            "    council: Testshire County Council\n    body: Children and Families Overview and Scrutiny Panel\n"
            "    meeting_date: null\n    doc_type: minutes\n"
            "    date_bounds: {after: '2018-01-10', before: '2018-03-01'}\n"
            f"  - id: {CABINET_REPORT_ID}\n    file: {CABINET_REPORT_ID}.txt\n"
            "    title: Highways report, 29 March 2018\n"
            "    council: Testshire County Council\n    body: Cabinet\n    meeting_date: '2018-03-29'\n"
            "    doc_type: report\n"
        )
    return corpus_dir
