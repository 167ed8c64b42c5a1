"""Caller text made safe for a person's terminal: control characters shown, not obeyed.

Callers control their name, message, caller ID and every word of the transcript. The
call log stores them exactly as given (`--json` prints them exactly, as JSON escapes);
everything a person reads (CLI tables, `show`, log lines) goes through `printable`, so
an escape sequence, a BEL, a carriage return or a line break in caller text cannot
recolour the terminal, ring it, or forge a row or a header line.
"""

from __future__ import annotations


def _escape(char: str) -> str:
    return char if char.isprintable() else char.encode("unicode_escape").decode("ascii")


def printable(text: object) -> str:
    """`text` on one line, every non-printable character (\\n, \\x1b, \\u202e...) escaped."""
    return "".join(_escape(char) for char in str(text))


def printable_block(text: object, indent: str = "  ") -> str:
    """Multi-line text kept on its lines, each escaped and indented, so no line of it can
    pass for a line of ours (a header such as "From:")."""
    return "\n".join(indent + printable(line) for line in str(text).split("\n"))
