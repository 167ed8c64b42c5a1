"""/health's call-log check: it tries what SQLite needs, a new file beside the database."""

from __future__ import annotations

from pathlib import Path

from receptionist.metrics import call_log_problem


def test_a_writable_data_dir_passes_and_keeps_no_probe_file(tmp_path: Path) -> None:
    assert call_log_problem(tmp_path / "receptionist.db") is None
    assert list(tmp_path.iterdir()) == []


def test_a_data_dir_that_cannot_take_files_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    problem = call_log_problem(blocker / "receptionist.db")
    assert problem is not None and problem.startswith(f"cannot write in {blocker}:")
