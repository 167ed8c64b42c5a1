"""FAQ matching finds answers to questions worded differently from the stored ones."""

from __future__ import annotations

import pytest

from receptionist.business import Business, FAQEntry, FAQIndex

ENTRIES = [
    FAQEntry(
        question="Which insurance plans do you accept?",
        answer="We accept most PPO plans, including Delta Dental, Cigna and Aetna.",
        keywords=("delta", "cigna", "aetna"),
    ),
    FAQEntry(question="What are your opening hours?", answer="Monday to Friday, 8 to 5."),
    FAQEntry(question="Is there parking?", answer="Free parking behind the building."),
    FAQEntry(question="Where are you located?", answer="123 Main Street, next to the bank."),
    FAQEntry(
        question="What is your cancellation policy?",
        answer="Please give us 24 hours notice to cancel an appointment.",
    ),
    FAQEntry(question="Are you accepting new patients?", answer="Yes, we welcome new patients."),
    FAQEntry(
        question="How much does a cleaning cost?", answer="A cleaning is $95 without insurance."
    ),
]


@pytest.fixture
def index() -> FAQIndex:
    return FAQIndex(ENTRIES)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Do you guys take Delta Dental?", "Which insurance plans do you accept?"),
        ("is my insurance accepted there", "Which insurance plans do you accept?"),
        ("do you take insurence", "Which insurance plans do you accept?"),  # transcription slip
        ("what time do you close", "What are your opening hours?"),
        ("when are you open on Friday?", "What are your opening hours?"),
        ("where can I park my car", "Is there parking?"),
        ("what's your address", "Where are you located?"),
        ("I need to cancel my appointment, is there a fee?", "What is your cancellation policy?"),
        ("I'm a new patient, can I come to you?", "Are you accepting new patients?"),
        ("what's the price of a teeth cleaning", "How much does a cleaning cost?"),
    ],
)
def test_differently_phrased_questions(index: FAQIndex, question: str, expected: str) -> None:
    match = index.best(question)
    assert match is not None, question
    assert match.entry.question == expected


@pytest.mark.parametrize(
    "question", ["Can I bring my dog?", "do you sell concert tickets", "", "um, hello?"]
)
def test_no_match_is_honest(index: FAQIndex, question: str) -> None:
    assert index.best(question) is None


def test_ranking_is_ordered_and_bounded(index: FAQIndex) -> None:
    ranked = index.search("how much is a cleaning with insurance", limit=3)
    assert len(ranked) == 3
    assert ranked[0].score >= ranked[1].score >= ranked[2].score
    assert {m.entry.question for m in ranked[:2]} == {
        "How much does a cleaning cost?",
        "Which insurance plans do you accept?",
    }
    assert all(0 <= m.score <= 1 for m in ranked)


def test_empty_faq() -> None:
    assert FAQIndex([]).best("anything") is None


def test_example_business_faq(dental: Business) -> None:
    index = FAQIndex(dental.faq)
    match = index.best("Are you guys in network with Cigna?")
    assert match is not None and "insurance" in match.entry.question.lower()
    match = index.best("are you open on saturdays")
    assert match is not None and "hours" in match.entry.question.lower()


SPANISH = [
    ("¿Aceptan seguro dental?", "Which insurance plans do you accept?"),
    ("¿Trabajan con Delta Dental?", "Which insurance plans do you accept?"),
    ("¿Cuál es su horario?", "What are your opening hours?"),
    ("¿A qué hora cierran?", "What are your opening hours?"),
    ("¿Tienen estacionamiento?", "Is there parking?"),
    ("¿Cuál es la dirección?", "Where are you located?"),
    ("Necesito cancelar mi cita", "What is your cancellation policy?"),
    ("¿Aceptan pacientes nuevos?", "Are you accepting new patients?"),
    ("¿Cuánto cuesta una limpieza?", "How much does a cleaning cost?"),
]


@pytest.mark.parametrize(("question", "expected"), SPANISH)
def test_spanish_questions_find_english_entries(question: str, expected: str) -> None:
    match = FAQIndex(ENTRIES, ("en", "es")).best(question)
    assert match is not None and match.entry.question == expected, (question, match)


def test_folding_case_and_accents() -> None:
    index = FAQIndex(ENTRIES, ("en", "es"))
    plain = index.search("cual es la direccion")[0]
    assert index.search("¿CUÁL ES LA DIRECCIÓN?")[0] == plain
    assert plain.entry.question == "Where are you located?"


def test_an_english_only_business_does_not_read_spanish(dental: Business) -> None:
    assert FAQIndex(ENTRIES).best("¿Aceptan seguro dental?") is None
    assert FAQIndex(ENTRIES, ("en", "es")).best("¿Tienen rayos equis?") is None
