"""The languages a business lists (by name, as in its YAML) and their ISO 639-1 codes.

The code drives the session's transcription language, date parsing, FAQ folding,
spoken dates and the Asterisk sound folder (sounds/<code>/). A name we have no
code for is still allowed: the prompt names it and transcription auto-detects.
"""

from __future__ import annotations

from collections.abc import Sequence

CODES = {
    "english": "en", "spanish": "es", "español": "es", "french": "fr", "français": "fr",
    "german": "de", "deutsch": "de", "italian": "it", "italiano": "it", "portuguese": "pt",
    "português": "pt", "dutch": "nl", "nederlands": "nl",
}  # fmt: skip
DEFAULT = "en"
NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
         "pt": "Portuguese", "nl": "Dutch"}  # fmt: skip


def code_of(language: str) -> str | None:
    """The ISO 639-1 code of a language name or code ("Spanish", "es"); None if unknown."""
    word = language.strip().casefold()
    if word in CODES.values():
        return word
    return CODES.get(word)


def codes_of(languages: Sequence[str]) -> tuple[str, ...]:
    """The known codes of `languages`, in order, without repeats."""
    found = [code for code in map(code_of, languages) if code]
    return tuple(dict.fromkeys(found))


def primary_code(languages: Sequence[str]) -> str:
    """The first listed language's code: the business's main language."""
    codes = codes_of(languages[:1])
    return codes[0] if codes else DEFAULT


# Policy for a language the business does not list (a line set to French for a
# business that speaks English and Spanish, or a caller who speaks it): the call goes
# on in the business's first language, consistently: the model says once, in it, which
# languages it can help in (prompt.py's rules), and dates, hours and FAQ answers are
# given in it. Never a mix of the caller's language and the business's.
UNLISTED_POLICY = "first"


def call_language(languages: Sequence[str], requested: str | None) -> str | None:
    """The language of one call: the one the dialplan asked for (RECEPTIONIST_LANGUAGE,
    e.g. "es" or "es_MX") when the business speaks it; the business's first language
    when it asked for one the business does not list (see UNLISTED_POLICY) or when the
    business speaks only one; None when it speaks several and none was asked for (the
    model then detects which of them the caller speaks)."""
    codes = codes_of(languages)
    wanted = code_of(requested.replace("-", "_").split("_")[0]) if requested else None
    if wanted in codes:
        return wanted
    if (requested or len(languages) == 1) and codes:
        return primary_code(languages)
    return None


def spoken_in(instructions: str, language: str | None) -> str:
    """`instructions` for one response, told to speak the call's language (a response's
    own instructions replace the session's, so the language rule must be repeated)."""
    name = NAMES.get(language or "")
    return f"{instructions} Say it all in {name}, translated." if name else instructions
