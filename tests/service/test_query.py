"""Pins question analysis in service/query.py (cue words in service/data/question.yaml and
service/data/glossary.yaml): the answer type, the meeting-fact roles asked for, table extremes,
query expansion, the constraints a question names (body, council, document type, date, item)
resolved against the papers' metadata, and follow-ups keeping the user's own answer type.

Questions are phrased as officers and as Members put them; the papers are fictional ones of two
councils.
"""

from __future__ import annotations

import pytest

from indexer.models import DocumentMeta
from service.query import Constraints, QueryAnalyzer, answer_type, constraints, expansion, extreme, fact_roles


def meta(doc_id, council, body, date, doc_type) -> DocumentMeta:
    return DocumentMeta(doc_id, f"{doc_id}.txt", f"{body} {doc_type}", council, body, date, doc_type)


PLAN_MINUTES = meta("adc-planning-minutes", "Anytown District Council", "Planning Committee", "2024-05-03", "minutes")
PLAN_AGENDA = meta("adc-planning-agenda", "Anytown District Council", "Planning Committee", "2024-05-03", "agenda")
FULL_COUNCIL = meta("adc-council-minutes", "Anytown District Council", "Council", "2024-02-21", "minutes")
CABINET_REPORT = meta("scc-cabinet-report", "Shire County Council", "Cabinet", "2024-03-14", "report")
CABINET_MINUTES = meta("scc-cabinet-minutes", "Shire County Council", "Cabinet", "2024-03-14", "minutes")
UNDATED = meta("scc-briefing", "Shire County Council", "Cabinet", None, "report")
METAS = [PLAN_MINUTES, PLAN_AGENDA, FULL_COUNCIL, CABINET_REPORT, CABINET_MINUTES]


# -- answer type ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, kind",
    [
        # person
        ("Who was in charge of the meeting?", "person"),
        ("Who chaired the Planning Committee?", "person"),
        ("Who wrote the report?", "person"),
        ("Which councillors sent apologies?", "person"),
        ("Who's the contact officer for this report?", "person"),
        ("Who should I phone about the application?", "person"),
        pytest.param("Who will pay for the new bridge?", "person"),
        # date
        ("When did the meeting finish?", "date"),
        ("What time did the meeting start?", "date"),
        ("What's the deadline for comments on the consultation?", "date"),
        ("How long will the car park be closed?", "date"),
        pytest.param("When will the funding be spent?", "date"),
        # amount
        ("How much will the refurbishment cost?", "amount"),
        ("What is the budget for the scheme?", "amount"),
        ("What was the capital cost of Option B?", "amount"),
        ("Is the new company going to cost us anything to set up?", "amount"),  # a Member asking the set-up cost
        ("How many pounds a year would the new company save us?", "amount"),  # a sum, though "how many"
        ("What is the salary of the Chief Executive?", "amount"),
        ("What was the fee paid to the consultants?", "amount"),
        # count
        ("How many councillors were present?", "count"),
        ("How many objections were received?", "count"),
        ("What number of homes will be affordable?", "count"),
        # percentage
        ("What percentage of the homes will be affordable?", "percentage"),
        ("What proportion of the budget goes on agency staff?", "percentage"),
        ("How much of the total possible score did Option C get?", "percentage"),
        # score
        ("What was the total possible score?", "score"),
        ("Which option scored highest?", "score"),
        ("How did Option B score on deliverability?", "score"),
        ("What weighting was given to quality?", "score"),
        pytest.param("What did Option A score on cost?", "score"),
        ("How was the Outsource option rated on tax and VAT?", "score"),  # a table's rating, not a grade
        # grade (an inspection's)
        ("What grade did Ofsted give the county's children's services?", "grade"),
        ("How did Ofsted rate the adoption service?", "grade"),
        ("What was the inspection judgement in 2017?", "grade"),
        ("What is Ofsted's rating of the fostering service?", "grade"),
        # place
        ("Where was the meeting held?", "place"),
        ("Which venue will host the consultation event?", "place"),
        ("Where will the new depot go?", "place"),
        # reason
        ("Why was the application refused?", "reason"),
        ("What was the reason for deferring the item?", "reason"),
        ("How come the scheme is over budget?", "reason"),
        # list
        ("What are the recommendations?", "list"),
        ("What were the conditions attached to the permission?", "list"),
        ("What were the risks?", "list"),
        ("List the options considered.", "list"),
        # yes / no
        ("Will anyone lose their job?", "yes_no"),
        ("Did the Committee approve the application?", "yes_no"),
        ("Was it a key decision?", "yes_no"),
        ("Were there any declarations of interest?", "yes_no"),
        pytest.param("Has the Cabinet agreed the budget?", "yes_no"),
        # description
        ("What happened with the Mill Lane application?", "description"),
        ("Tell me about the flood risk assessment.", "description"),
        ("What concerns did the Chairman raise?", "description"),
    ],
)
def test_answer_type(question, kind):
    assert answer_type(question) == kind


# -- meeting-fact roles ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, roles",
    [
        ("Who was in charge of the meeting?", ("chair",)),
        ("Who chaired the Planning Committee?", ("chair",)),
        ("Who ran the meeting?", ("chair",)),
        ("What concerns did the Chairman raise?", ()),  # asks what was said, not who chaired
        ("Who sent apologies?", ("apologies",)),
        ("Who couldn't make it to the meeting?", ("apologies",)),
        ("Which councillors were absent?", ("apologies",)),
        ("Who attended the meeting?", ("present",)),
        ("When did the meeting finish?", ("ended",)),
        ("What time did they finish?", ("ended",)),
        ("What time did the meeting start?", ("started",)),
        ("Where was the meeting held?", ("venue",)),
        ("Who wrote the report?", ("author",)),
        ("Who prepared the report?", ("author",)),
        ("Who should I phone about the application?", ("contact",)),
        ("Who is the portfolio holder?", ("portfolio_holder",)),
        ("Who signed off the report?", ("accountable_officer",)),
        ("What are the recommendations?", ("recommendations",)),
        ("What did the Committee recommend?", ("recommendations",)),
        ("What did the Committee resolve?", ("resolutions", "resolution")),
        ("Which wards are affected?", ("wards",)),
        ("Did anyone declare an interest?", ("declarations",)),
        ("What is the report called?", ("report_title",)),
        ("How much will the refurbishment cost?", ()),
        ("And who presented it?", ()),  # presenting a report is not attending
        pytest.param("Who was the vice-chair?", ("vice_chair",)),
        pytest.param("Who is the contact officer for this report?", ("contact",)),
        pytest.param("Was it a key decision?", ("key_decision",)),
        pytest.param("Were there any declarations of interest?", ("declarations",)),
    ],
)
def test_fact_roles(question, roles):
    assert fact_roles(question) == roles


@pytest.mark.parametrize(
    "question, kind, roles",
    [
        ("Who chaired the meeting?", "description", ()),  # a chair fact answers only person / yes-no
        ("Was the meeting chaired by the Leader?", "yes_no", ("chair",)),
        ("When did the meeting finish?", "person", ()),  # an end time answers only a date question
        ("Who wrote the report?", "list", ()),
    ],
)
def test_fact_roles_follow_the_answer_type(question, kind, roles):
    assert fact_roles(question, kind) == roles


# -- table extremes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, expected",
    [
        ("Which option scored highest?", "highest"),
        ("Which option came top?", "highest"),
        ("Which option would save the most money?", "highest"),
        ("Which option is the worst?", "lowest"),
        ("Which option came last?", "lowest"),
        ("Which site has the least affordable housing?", "lowest"),
        ("What was the total possible score?", None),
        ("Who chaired the meeting?", None),
        pytest.param("Which site has the fewest homes?", "lowest"),
        pytest.param("What is the cheapest option?", "lowest"),
        pytest.param("What is the maximum possible score?", None),
    ],
)
def test_extreme(question, expected):
    assert extreme(question) == expected


# -- glossary expansion ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, words",
    [
        ("Will anyone lose their jobs?", ["redundancies"]),
        ("Will anyone lose their job?", ["redundancies"]),
        ("Is the new company going to cost us anything to set up?", ["funding", "establish"]),
        ("Who was in charge of the meeting?", ["chairman"]),
        ("Who couldn't make it?", ["apologies"]),
        ("Are we teaming up with a next-door council?", ["partnership", "neighbouring"]),
        pytest.param("Are we teaming up with the council next door?", ["partnership", "neighbouring"]),
        ("Who wrote the report?", ["author", "prepared"]),
    ],
)
def test_expansion_adds_council_words(question, words):
    added = expansion(question).split()
    for w in words:
        assert w in added
    assert not [w for w in added if w.lower() in question.lower().split()]  # the question's own words are not repeated


@pytest.mark.parametrize(
    "question",
    [
        "What is the Section 106 contribution for Mill Lane?",
        "Who chaired the Planning Committee?",
    ],
)
def test_expansion_is_empty_without_everyday_words(question):
    assert expansion(question) == ""


# -- constraints named by the question ------------------------------------------------------
@pytest.mark.parametrize(
    "question, field, expected",
    [
        ("Who chaired the committee?", "bodies", ("Planning Committee",)),
        ("What was agreed at Cabinet?", "bodies", ("Cabinet",)),
        ("What did full Council decide?", "bodies", ("Council",)),
        ("What did Anytown's planning committee decide?", "bodies", ("Planning Committee",)),
        ("What did Anytown's planning committee decide?", "councils", ("Anytown District Council",)),
        ("What does Shire's report say about highways?", "councils", ("Shire County Council",)),
        ("What does Shire's report say about highways?", "doc_types", ("report",)),
        ("Which committee considered the report?", "bodies", ()),  # asks for a body, names none
        ("What was decided on 3 May 2024?", "dates", ("2024-05-03",)),
        ("What did Cabinet agree on 14th March 2024?", "dates", ("2024-03-14",)),
        ("What did Cabinet agree in March 2024?", "dates", ("2024-03",)),
        ("What did Cabinet agree in 2024?", "dates", ("2024",)),
        ("What does minute 45 say?", "items", ("45",)),
        ("What does minute 45 say?", "doc_types", ("minutes",)),
        ("What was said about item 6.2?", "items", ("6.2",)),
        ("What is on the agenda?", "doc_types", ("agenda",)),
        pytest.param("What did Shire County Council decide about highways?", "bodies", ()),
        pytest.param("What did the council decide about the budget?", "bodies", ()),
    ],
)
def test_constraints(question, field, expected):
    assert getattr(constraints(question, METAS), field) == expected


def test_a_question_naming_nothing_has_empty_constraints():
    c = constraints("What happened with the Mill Lane application?", METAS)
    assert c.is_empty() and c == Constraints()


@pytest.mark.parametrize(
    "c, paper, item, score",
    [
        (Constraints(), PLAN_MINUTES, None, 0.5),  # nothing named
        (Constraints(bodies=("Cabinet",)), CABINET_MINUTES, None, 1.0),
        (Constraints(bodies=("Cabinet",)), PLAN_MINUTES, None, 0.0),
        (Constraints(councils=("Shire County Council",)), CABINET_REPORT, None, 1.0),
        (Constraints(councils=("Shire County Council",)), FULL_COUNCIL, None, 0.0),
        (Constraints(doc_types=("agenda",)), PLAN_AGENDA, None, 1.0),
        (Constraints(doc_types=("agenda",)), PLAN_MINUTES, None, 0.0),
        (Constraints(dates=("2024-03",)), CABINET_MINUTES, None, 1.0),
        (Constraints(dates=("2024-05-03",)), CABINET_MINUTES, None, 0.0),
        (Constraints(dates=("2024",)), UNDATED, None, 0.0),
        (Constraints(items=("45",)), PLAN_MINUTES, "45", 1.0),
        (Constraints(items=("45",)), PLAN_MINUTES, "45.2", 1.0),  # a sub-item of minute 45
        (Constraints(items=("45",)), PLAN_MINUTES, "450", 0.0),
        (Constraints(items=("45",)), PLAN_MINUTES, "4", 0.0),
        (Constraints(items=("45",)), PLAN_MINUTES, None, 0.0),
        (Constraints(bodies=("Cabinet",), dates=("2024-03",)), CABINET_MINUTES, None, 1.0),
    ],
)
def test_constraints_matches(c, paper, item, score):
    assert c.matches(paper, item) == score


@pytest.mark.parametrize(
    "paper, score",
    [
        (PLAN_MINUTES, 1.0),
        (PLAN_AGENDA, 1.0),
        (CABINET_MINUTES, 0.0),
        (FULL_COUNCIL, 0.0),
    ],
)
def test_named_meeting_matches_its_papers(paper, score):
    c = constraints("What did the committee decide on 3 May 2024?", METAS)
    assert (c.bodies, c.dates) == (("Planning Committee",), ("2024-05-03",))
    assert c.matches(paper) == score


# -- the analyzer, with follow-ups ----------------------------------------------------------
@pytest.mark.parametrize(
    "question, history, kind, roles, bodies, dates",
    [
        (
            "And who presented it?",
            ["What did Cabinet decide about the Local Plan in March 2024?"],
            "person",
            (),
            ("Cabinet",),
            ("2024-03",),
        ),
        ("Who presented it?", ["How much will the Local Plan cost?"], "person", (), (), ()),
        ("When was that agreed?", ["Who chaired the Planning Committee?"], "date", (), ("Planning Committee",), ()),
        ("Who chaired the committee?", [], "person", ("chair",), ("Planning Committee",), ()),
    ],
)
def test_analyzer_keeps_the_users_own_answer_type(question, history, kind, roles, bodies, dates):
    q = QueryAnalyzer(METAS).run(question, history)
    assert q.question == question
    assert q.is_follow_up is bool(history)
    assert (q.answer_type, q.roles) == (kind, roles)
    assert (q.constraints.bodies, q.constraints.dates) == (bodies, dates)
    for word in history[-1].rstrip("?").split() if history else []:
        assert word in q.text  # the earlier question is carried as context


def test_elliptical_follow_up_reasks_the_earlier_question():
    q = QueryAnalyzer(METAS).run("What about the Cabinet?", ["Who chaired the Planning Committee?"])
    assert q.text == "Who chaired the Cabinet?" and q.is_follow_up
    assert q.constraints.bodies == ("Cabinet",)


def test_elliptical_follow_up_keeps_the_earlier_answer_type():
    q = QueryAnalyzer(METAS).run("What about the Cabinet?", ["Who chaired the Planning Committee?"])
    assert (q.answer_type, q.roles) == ("person", ("chair",))


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("How much will the company cost to set up?", True),
        ("How many social workers will transfer?", True),
        ("When will the company go live?", True),
        ("Who chaired the panel?", True),
        ("What percentage of the total did the company score?", True),
        ("What is the budget for the new company?", True),
        ("What is the salary of the new managing director?", True),  # a sum: a salary, a fee, an allowance
        ("What grade did inspectors give the service?", True),
        ("What was Ofsted's verdict on the service?", False),  # a description of it, not only the grade
        ("What was the fee paid to the legal advisers?", True),
        ("What happens to staff pay?", False),  # `amount` by its money word, but asks for a description
        ("What will the budget be spent on?", False),
        ("Why was the company option chosen?", False),
        ("Will the council have to pay VAT?", False),  # yes/no
    ],
)
def test_asks_value_only_when_the_question_asks_for_the_value_itself(question, asks):
    assert QueryAnalyzer(METAS).run(question).asks_value is asks
