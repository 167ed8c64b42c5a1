"""FAQ matching: rank stored answers against a question phrased the caller's way.

Callers never use the stored wording ("do you take Delta Dental?" for "Which
insurance do you accept?"), so substring search fails. Each entry is scored by
IDF-weighted word overlap between the question and the entry's question,
keywords and (at a lower weight) answer, after light stemming, a small table of
receptionist synonyms, and fuzzy word matching for transcription slips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from receptionist.business.models import FAQEntry

MIN_SCORE = 0.4  # below this, an honest "I don't know" beats a wrong answer
_ANSWER_WEIGHT = 0.5
_FUZZY_MIN_RATIO = 0.8

_STOPWORD_TEXT = (
    "a about an and any are as at be can could do does did for from get got have how i i'd "
    "i'm if in is it its me my of on or our please so that the their there there's this to "
    "us was we what which who will with would you your yours hi hello just like want need "
    "know tell wondering guys hey um uh ok okay yeah yes thanks thank also still really"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Canonical word for each group of words callers use interchangeably.
_SYNONYM_GROUPS = {
    "cost": "cost price pric fee charge much expensive cheap rate",
    "pay": "pay payment paying card cash credit check financing",
    "insurance": "insurance insur insured insurer coverage cover covered ppo hmo",
    "accept": "accept take",
    "hour": "hour open close clos closing opening time",
    "location": "location locat address direction located",
    "park": "park parking",
    "appointment": "appointment appoint book booking schedule visit",
    "cancel": "cancel cancellation cancell",
    "emergency": "emergency urgent",
    "new": "new first",
}
_SYNONYMS = {word: canon for canon, words in _SYNONYM_GROUPS.items() for word in words.split()}
# Words that hint at a topic but come up in questions about anything: half weight.
_WEAK = {"where": "location", "when": "hour"}
_WEAK_TERMS = frozenset({"accept"})


@dataclass(frozen=True)
class FAQMatch:
    entry: FAQEntry
    score: float  # 0..1


def _stem(word: str) -> str:
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + replacement
    return word


def terms(text: str) -> dict[str, float]:
    """Content words of `text`, stemmed and mapped to synonym groups, with their weight."""
    out: dict[str, float] = {}
    for word in re.findall(r"[a-z0-9']+", text.casefold()):
        word = word.strip("'").removesuffix("'s")
        if word in _WEAK:
            out[_WEAK[word]] = max(out.get(_WEAK[word], 0.0), 0.5)
        elif word and word not in _STOPWORDS:
            term = _SYNONYMS.get(word) or _SYNONYMS.get(_stem(word)) or _stem(word)
            out[term] = 0.5 if term in _WEAK_TERMS else 1.0
    return out


class FAQIndex:
    """Built once per business; `search` is cheap enough to run on every tool call."""

    def __init__(self, entries: Sequence[FAQEntry]) -> None:
        self.entries = tuple(entries)
        self._docs = [
            (set(terms(e.question + " " + " ".join(e.keywords))), set(terms(e.answer)))
            for e in self.entries
        ]
        df: dict[str, int] = {}
        for question_terms, answer_terms in self._docs:
            for term in question_terms | answer_terms:
                df[term] = df.get(term, 0) + 1
        self._df = df

    def _idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        # A word no entry uses still counts against every entry (it is part of what
        # was asked), but only as much as the least telling known word.
        return 1.0 + math.log((len(self.entries) + 1) / (df + 1)) if df else 1.0

    def search(self, question: str, limit: int = 3) -> list[FAQMatch]:
        query = terms(question)
        if not query or not self.entries:
            return []
        weights = {term: self._idf(term) * factor for term, factor in query.items()}
        total = sum(weights.values())
        matches = []
        for entry, (question_terms, answer_terms) in zip(self.entries, self._docs, strict=True):
            overlap = sum(
                weights[term]
                * max(
                    _similarity(term, question_terms),
                    _ANSWER_WEIGHT * _similarity(term, answer_terms),
                )
                for term in query
            )
            # Whole-string similarity only breaks ties between equal overlaps.
            wording = SequenceMatcher(None, question.casefold(), entry.question.casefold()).ratio()
            matches.append(
                (round(overlap / total, 3), wording, FAQMatch(entry, round(overlap / total, 3)))
            )
        matches.sort(key=lambda m: (m[0], m[1]), reverse=True)
        return [match for _, _, match in matches[:limit]]

    def best(self, question: str) -> FAQMatch | None:
        found = self.search(question, limit=1)
        return found[0] if found and found[0].score >= MIN_SCORE else None


def _similarity(term: str, vocabulary: set[str]) -> float:
    if term in vocabulary:
        return 1.0
    if len(term) < 4:
        return 0.0
    best = 0.0
    for word in vocabulary:
        if len(word) >= 4 and abs(len(word) - len(term)) <= 3:
            ratio = SequenceMatcher(None, term, word).ratio()
            if ratio >= _FUZZY_MIN_RATIO:
                best = max(best, ratio)
    return best
