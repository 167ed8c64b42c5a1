"""Every command has help, and the README documents every command (sqlite-utils' rule)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from receptionist.cli import build_parser, main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands() -> list[tuple[list[str], argparse.ArgumentParser, str | None]]:
    """(path, parser, help) for every command and sub-action."""
    found: list[tuple[list[str], argparse.ArgumentParser, str | None]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    found.append(([*path, name], sub, helps.get(name)))
                    walk(sub, [*path, name])

    walk(build_parser(), [])
    return found


COMMANDS = _commands()


@pytest.mark.parametrize(("path", "parser", "help_text"), COMMANDS, ids=lambda v: str(v))
def test_every_command_has_help(
    path: list[str], parser: argparse.ArgumentParser, help_text: str | None
) -> None:
    assert help_text, f"`receptionist {' '.join(path)}` has no help text"
    assert parser.format_help().startswith("usage: receptionist " + " ".join(path))


def test_readme_documents_every_top_level_command() -> None:
    top = {path[0] for path, _, _ in COMMANDS}
    missing = sorted(name for name in top if f"receptionist {name}" not in README)
    assert not missing, f"README lacks: {missing}"


def test_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize(("path", "parser", "help_text"), COMMANDS, ids=lambda v: str(v))
def test_every_command_has_a_description(
    path: list[str], parser: argparse.ArgumentParser, help_text: str | None
) -> None:
    """`receptionist X --help` says what X does, not only its usage."""
    assert parser.description, f"`receptionist {' '.join(path)} --help` has no description"


def _option_help(path: list[str], option: str) -> str | None:
    [parser] = [p for found, p, _ in COMMANDS if found == path]
    return next((a.help for a in parser._actions if option in a.option_strings), None)


@pytest.mark.parametrize("path", [path for path, parser, _ in COMMANDS
                                  if any("--settings" in a.option_strings
                                         for a in parser._actions)])  # fmt: skip
def test_every_settings_option_names_where_settings_are_looked_for(path: list[str]) -> None:
    text = _option_help(path, "--settings") or ""
    assert "RECEPTIONIST_SETTINGS" in text and "/etc/receptionist/receptionist.yaml" in text


def test_top_level_and_serve_help_name_the_key_the_settings_and_the_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    top = build_parser().format_help()
    assert "OPENAI_API_KEY" in top and "/etc/receptionist/receptionist.yaml" in top
    [serve] = [parser for path, parser, _ in COMMANDS if path == ["serve"]]
    text = serve.format_help()
    for option in ("--settings", "--workers", "--instance", "--sandbox", "OPENAI_API_KEY"):
        assert option in text
