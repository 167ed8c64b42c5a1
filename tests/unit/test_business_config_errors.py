"""Each class of bad business config gives an error naming the file, the field and the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from receptionist.business import ConfigError, load_business, load_businesses

GOOD_HEAD = "business: {name: Test Co, timezone: America/New_York}\n"


def _error(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_business(path, env=env or {})
    return caught.value


def _assert_names(error: ConfigError, path: Path, field: str, *reason_words: str) -> None:
    """One line of str(error) names the file, the field (or a field inside it) and the reason."""
    lines = str(error).splitlines()
    line = next(
        (
            text
            for text in lines
            if text.startswith(str(path))
            and any(f": {field}{tail}" in text for tail in (": ", ".", "["))
        ),
        None,
    )
    assert line is not None, f"no line for {path} / {field!r} in:\n{error}"
    for word in reason_words:
        assert word in line, f"{word!r} not in {line!r}"


def test_bad_yaml_syntax(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(GOOD_HEAD + "hours:\n  monday: {open: '08:00', close: '17:00'\n")
    error = _error(path)
    _assert_names(error, path, "(file)", "invalid YAML syntax")
    assert error.issues[0].line is not None  # points the admin at a line


def test_unknown_field_with_suggestion(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(GOOD_HEAD + "hours: {}\ngreting: Hello\n")
    _assert_names(_error(path), path, "greting", "unknown field", "did you mean 'greeting'")


def test_unknown_nested_field(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        GOOD_HEAD + "hours: {}\nrouting:\n  departments:\n    - {name: A, extention: '201'}\n"
    )
    error = _error(path)
    _assert_names(error, path, "routing.departments[0].extention", "unknown field", "extension")
    assert error.issues[0].line == 5


@pytest.mark.parametrize("value", ["25:00", "8am", "17:60", "noon"])
def test_bad_time(write_yaml: Callable[..., Path], value: str) -> None:
    path = write_yaml(GOOD_HEAD + f"hours:\n  tuesday: {{open: '08:00', close: '{value}'}}\n")
    _assert_names(_error(path), path, "hours.tuesday[0].close", "bad time", value, "HH:MM")


def test_bad_day_value(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(GOOD_HEAD + "hours:\n  friday: shut\n")
    _assert_names(_error(path), path, "hours.friday", "expected 'closed'")


def test_bad_timezone(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("business: {name: X, timezone: America/NewYork}\nhours: {}\n")
    _assert_names(
        _error(path), path, "business.timezone", "unknown IANA timezone", "America/New_York"
    )


def test_missing_env_var(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        GOOD_HEAD + "hours: {}\nmessages:\n  webhook: {url: '${HOOK_URL}', secret: '${HOOK_KEY}'}\n"
    )
    error = _error(path, env={"HOOK_KEY": "s3cret"})
    _assert_names(error, path, "messages.webhook.url", "HOOK_URL", "not set")
    assert len(error.issues) == 1  # the empty URL is not reported a second time
    assert "s3cret" not in str(error)


def test_duplicate_department(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        GOOD_HEAD
        + "hours: {}\nrouting:\n  departments:\n"
        + "    - {name: Billing, extension: '201'}\n"
        + "    - {name: billing department, extension: '202'}\n"
    )
    _assert_names(_error(path), path, "routing.departments", "duplicate department", "[1]")


@pytest.mark.parametrize("name", ["Example Dental.yaml", "UPPER.yaml", "..yaml", "a.b.yaml"])
def test_unsafe_slug(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(GOOD_HEAD + "hours: {}\n")
    _assert_names(_error(path), path, "slug", "unsafe file name", "^[a-z0-9_-]+$")


def test_all_errors_of_a_file_are_reported_together(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        "business: {name: X, timezone: Mars/Olympus}\n"
        "hours: {monday: {open: '9', close: '17:00'}}\n"
        "colour: blue\n"
    )
    fields = {issue.field for issue in _error(path).issues}
    assert fields == {"business.timezone", "hours.monday[0].open", "colour"}


@pytest.mark.parametrize(
    ("department", "reason"),
    [
        ("{name: A}", "exactly one of extension"),
        ("{name: A, extension: '201', number: '+15551234567', trunk: t}", "exactly one"),
        ("{name: A, number: '+15551234567'}", "needs trunk"),
        ("{name: A, number: '5551234567', trunk: t}", "E.164"),
        ("{name: A, number: +15551234567, trunk: t}", "quotes"),
        ("{name: A, extension: 'PJSIP/201&PJSIP/202'}", "not a desk-phone target"),
        ("{name: A, extension: 'Local/1@from-internal'}", "not a desk-phone target"),
    ],
)
def test_bad_department_target(
    write_yaml: Callable[..., Path], department: str, reason: str
) -> None:
    path = write_yaml(GOOD_HEAD + f"hours: {{}}\nrouting:\n  departments:\n    - {department}\n")
    _assert_names(_error(path), path, "routing.departments[0]", reason)


def test_overlapping_spans(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        GOOD_HEAD
        + "hours:\n  monday:\n    - {open: '08:00', close: '12:00'}\n"
        + "    - {open: '11:00', close: '17:00'}\n"
    )
    _assert_names(_error(path), path, "hours.monday", "overlaps")


def test_same_did_in_two_businesses(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_HEAD + "hours: {}\ndids: ['+15555550100']\n")
    (tmp_path / "b.yaml").write_text(GOOD_HEAD + "hours: {}\ndids: ['5555550100']\n")
    with pytest.raises(ConfigError) as caught:
        load_businesses(tmp_path, env={})
    _assert_names(caught.value, tmp_path / "b.yaml", "dids[0]", "also reaches", "a.yaml")


def test_not_a_mapping(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("- just\n- a list\n")
    _assert_names(_error(path), path, "(file)", "mapping")


@pytest.mark.parametrize(
    ("section", "field", "reason"),
    [
        ("messages: {email: {to: [not-an-address], sender: a@b.co}}", "messages.email.to",
         "not an email address"),
        ("messages: {webhook: {url: 'ftp://x'}}", "messages.webhook.url", "URL scheme"),
        ("messages: {max_length: 5}", "messages.max_length", "greater than or equal to 50"),
        ("recording: {enabled: true, consent_text: ''}", "recording", "consent_text"),
        ("recording: {retention_days: 0}", "recording.retention_days", "greater than or equal"),
        ("voice: {voice: 'marin; rm -rf'}", "voice.voice", "should match pattern"),
        ("languages: []", "languages", "at least 1"),
        ("dids: ['100', '100']", "dids", "listed more than once"),
        ("dids: ['sip:100@x']", "dids", "not a dialed number"),
        ("slug: other", "slug", "comes from the file name"),
    ],
)  # fmt: skip
def test_other_sections_are_validated(
    write_yaml: Callable[..., Path], section: str, field: str, reason: str
) -> None:
    path = write_yaml(GOOD_HEAD + "hours: {}\n" + section + "\n")
    _assert_names(_error(path), path, field, reason)


def test_closure_range_must_be_ordered(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        GOOD_HEAD + "hours:\n  closures: [{date: 2026-12-26, until: 2026-12-24, name: X}]\n"
    )
    _assert_names(_error(path), path, "hours.closures[0]", "is before date")


def test_yml_extension_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "shop.yml").write_text(GOOD_HEAD + "hours: {}\n")
    assert list(load_businesses(tmp_path, env={})) == ["shop"]
