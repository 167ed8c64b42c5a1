"""The turn machine stays small to load and free of waiting: importing it pulls in no
model SDK, database, HTTP or calendar library, and the code that runs a conversation
waits on events and timers, never on a polling sleep."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import receptionist

PACKAGE = Path(receptionist.__file__).parent
HEAVY = ("sqlite3", "aiohttp", "openai", "googleapiclient")


def imported_modules(statement: str) -> set[str]:
    """The modules a fresh interpreter imports for `statement` (python -X importtime)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    # Lines look like "import time:       123 |        456 |   package.module".
    return {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if "|" in line}


def test_importing_the_turns_loads_none_of_the_heavy_libraries() -> None:
    loaded = imported_modules("import receptionist.turns.machine, receptionist.turns.timers")
    assert "receptionist.turns.machine" in loaded  # the measurement itself works
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_measurement_sees_a_heavy_import() -> None:
    # The same check on what the call flow loads: it must find the SDK there.
    loaded = imported_modules("import receptionist.call.call")
    assert {"openai", "aiohttp", "sqlite3"} <= loaded


def test_no_polling_sleep_in_the_conversation_or_the_turns() -> None:
    sources = [PACKAGE / "call" / "conversation.py", *sorted((PACKAGE / "turns").glob("*.py"))]
    found = [
        f"{path.name}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\basyncio\.sleep\(|\btime\.sleep\(", line)
    ]
    assert found == []


def test_the_turns_import_nothing_from_the_tools() -> None:
    for path in (PACKAGE / "turns").glob("*.py"):
        assert "receptionist.tools" not in path.read_text(), path.name
