"""Hostile or mistaken config files give one file:line error each, quickly, never a
traceback: alias bombs, deep nesting, huge files, YAML 1.1 octal times, impossible dates."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from receptionist.business import ConfigError, build_instructions, load_business
from receptionist.business import prompt as prompt_module
from receptionist.business.yaml_limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES
from receptionist.cli import main
from tests.unit.conftest import EXAMPLE

HEAD = "business: {name: Test Co, timezone: America/New_York}\n"


def _issue(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_business(path, env={})
    [issue] = caught.value.issues
    return str(issue)


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_once(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(billion_laughs())
    assert len(path.read_bytes()) < 500
    started = time.process_time()
    issue = _issue(path)
    assert time.process_time() - started < 5  # generous: the expansion would take minutes
    assert issue.startswith(f"{path}:") and "(file)" in issue
    assert f"aliases (*name) expand to more than {MAX_VALUES} values" in issue


def test_an_alias_chain_cannot_nest_past_the_depth_limit(write_yaml: Callable[..., Path]) -> None:
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 60)]
    assert f"nest more than {MAX_DEPTH} levels deep" in _issue(write_yaml("\n".join(lines)))


def test_a_recursive_alias_is_refused(write_yaml: Callable[..., Path]) -> None:
    assert "refers to a value that contains it" in _issue(write_yaml("a: &a [*a]\n"))


def test_aliases_a_person_would_write_still_work(write_yaml: Callable[..., Path]) -> None:
    days = "\n".join(f"  {d}: *day" for d in ("tuesday", "wednesday", "thursday", "friday"))
    path = write_yaml(HEAD + "hours:\n  monday: &day {open: '08:00', close: '17:00'}\n" + days)
    business = load_business(path, env={})
    assert business.hours.friday == business.hours.monday


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50_000])
def test_deep_nesting_is_refused_with_its_line(write_yaml: Callable[..., Path], depth: int) -> None:
    path = write_yaml(HEAD + "greeting: " + "[" * depth + "]" * depth + "\n")
    assert _issue(path).startswith(f"{path}:2: (file): nested more than {MAX_DEPTH} levels")


def test_oversized_file_is_refused_before_it_is_read(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "faq:\n" + "  - {question: q, answer: a}\n" * 60_000)
    assert path.stat().st_size > MAX_FILE_BYTES
    assert f"config files may be at most {MAX_FILE_BYTES}" in _issue(path)


def test_unquoted_octal_looking_time_asks_for_quotes(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "hours:\n  monday: {open: 0800, close: 17:00}\n")
    issue = _issue(path)
    assert issue.startswith(f"{path}:3: hours.monday")
    assert "quote times like '08:00'" in issue


def test_impossible_date_is_a_field_error(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "hours:\n  closures:\n    - {date: 2027-13-45, name: Bad}\n")
    assert _issue(path).startswith(f"{path}:4: hours.closures[0].date: ")


def test_config_check_prints_errors_not_tracebacks(
    write_yaml: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_yaml(billion_laughs(), "businesses/bomb.yaml").parent
    write_yaml(HEAD + "hours: {monday: {open: 0800, close: '17:00'}}\n", "businesses/octal.yaml")
    write_yaml("x: " + "[" * 50_000 + "]" * 50_000 + "\n", "businesses/deep.yaml")
    assert main(["config", "check", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    for name, line in (("bomb", 6), ("octal", 2), ("deep", 1)):
        assert f"{folder / name}.yaml:{line}: " in captured.err


def test_the_prompt_sections_that_never_change_are_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    business = load_business(EXAMPLE, env={})
    built: list[str] = []
    real = prompt_module._faq_section

    def counting(b: object) -> str:
        built.append("faq")
        return real(b)  # type: ignore[arg-type]

    monkeypatch.setattr(prompt_module, "_faq_section", counting)
    first = build_instructions(business, datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    second = build_instructions(business, datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    assert built == ["faq"]
    assert first != second  # the clock part is still built for each call
