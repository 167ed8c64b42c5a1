"""FAQ matching: rank stored answers against a question phrased the caller's way.

Callers never use the stored wording ("do you take Delta Dental?" for "Which
insurance do you accept?"), so substring search fails. Each entry is scored by
IDF-weighted word overlap between the question and the entry's question,
keywords and (at a lower weight) answer, after case and accent folding, light
stemming, per-language stopwords and synonyms (faq_languages.py: a Spanish word maps
onto the same term as its English one, so a question in either language finds an
entry written in either), and fuzzy word matching for transcription slips.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from receptionist.business.faq_languages import STOPWORDS, SYNONYM_GROUPS, WEAK, fold
from receptionist.business.models import FAQEntry

MIN_SCORE = 0.4  # below this, an honest "I don't know" beats a wrong answer
_ANSWER_WEIGHT = 0.5
_FUZZY_MIN_RATIO = 0.8

_WEAK_TERMS = frozenset({"accept"})


@dataclass(frozen=True)
class Vocabulary:
    """The stopwords, synonyms and weak words of the languages a business speaks."""

    stopwords: frozenset[str]
    synonyms: dict[str, str]
    weak: dict[str, str]

    @classmethod
    def of(cls, languages: Sequence[str]) -> Vocabulary:
        codes = ["en", *(code for code in languages if code in SYNONYM_GROUPS and code != "en")]
        stop = frozenset(word for code in codes for word in STOPWORDS[code].split())
        synonyms = {
            word: canon
            for code in codes
            for canon, words in SYNONYM_GROUPS[code].items()
            for word in words.split()
        }
        weak = {word: canon for code in codes for word, canon in WEAK[code].items()}
        return cls(stop, synonyms, weak)


ENGLISH = Vocabulary.of(("en",))


@dataclass(frozen=True)
class FAQMatch:
    entry: FAQEntry
    score: float  # 0..1


def _stem(word: str) -> str:
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + replacement
    return word


def terms(text: str, vocabulary: Vocabulary = ENGLISH) -> dict[str, float]:
    """Content words of `text` (case and accents folded), stemmed and mapped to synonym
    groups, with their weight."""
    out: dict[str, float] = {}
    synonyms = vocabulary.synonyms
    for word in re.findall(r"[a-z0-9']+", fold(text)):
        word = word.strip("'").removesuffix("'s")
        if word in vocabulary.weak:
            canon = vocabulary.weak[word]
            out[canon] = max(out.get(canon, 0.0), 0.5)
        elif word and word not in vocabulary.stopwords:
            term = synonyms.get(word) or synonyms.get(_stem(word)) or _stem(word)
            out[term] = 0.5 if term in _WEAK_TERMS else 1.0
    return out


class FAQIndex:
    """Built once per business; `search` is cheap enough to run on every tool call."""

    def __init__(self, entries: Sequence[FAQEntry], languages: Sequence[str] = ("en",)) -> None:
        self.entries = tuple(entries)
        self.vocabulary = Vocabulary.of(languages)
        vocabulary = self.vocabulary
        self._docs = [
            (set(terms(e.question + " " + " ".join(e.keywords), vocabulary)),
             set(terms(e.answer, vocabulary)))
            for e in self.entries
        ]  # fmt: skip
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
        query = terms(question, self.vocabulary)
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
            wording = SequenceMatcher(None, fold(question), fold(entry.question)).ratio()
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
