"""docs/architecture.md maps the package: its table lists exactly the folders of
receptionist/ (what `tree -d receptionist` shows), and the files it tells a newcomer to
read first exist."""

from __future__ import annotations

import re
from pathlib import Path

import receptionist

PACKAGE = Path(receptionist.__file__).parent
DOC = PACKAGE.parent / "docs" / "architecture.md"

# A row of the parts table: | `call/handoff/` | ... |
FOLDER_ROW = re.compile(r"^\| `([a-z_/]+)/` \|", re.MULTILINE)
READ_FIRST = re.compile(r"\*\*`(receptionist/[a-z_/]+\.py)`\*\*")


def documented_folders(text: str) -> set[str]:
    return set(FOLDER_ROW.findall(text))


def package_folders(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts
    }


def test_the_doc_lists_every_folder_of_the_package_and_no_other() -> None:
    documented = documented_folders(DOC.read_text())
    real = package_folders(PACKAGE)
    assert documented - real == set(), "listed in docs/architecture.md but not in receptionist/"
    assert real - documented == set(), "folders of receptionist/ missing from docs/architecture.md"


def test_the_folder_rows_are_read_from_the_table(tmp_path: Path) -> None:
    (tmp_path / "call" / "handoff").mkdir(parents=True)
    (tmp_path / "call" / "__pycache__").mkdir()
    (tmp_path / "core").mkdir()
    table = "| folder | what |\n|---|---|\n| `call/` | x |\n| `call/handoff/` | y |\n"
    assert documented_folders(table) == {"call", "call/handoff"}
    assert package_folders(tmp_path) == {"call", "call/handoff", "core"}


def test_the_files_to_read_first_exist() -> None:
    named = READ_FIRST.findall(DOC.read_text())
    assert named == [
        "receptionist/call/call.py",
        "receptionist/turns/machine.py",
        "receptionist/audiosocket/protocol.py",
        "receptionist/ari/client.py",
    ]
    for rel in named:
        assert (PACKAGE.parent / rel).is_file(), rel
