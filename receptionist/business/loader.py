"""Loading YAML config files into models, with errors that name file, field and reason.

All problems in a file are collected and reported together, so an admin fixes
a file in one pass rather than one error per restart.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from receptionist.business.models import SLUG_RE, Business
from receptionist.business.phone import did_matches
from receptionist.business.yaml_limits import (
    LimitExceeded,
    check_depth,
    check_expansion,
    check_size,
)
from receptionist.core.redact import redact

M = TypeVar("M", bound=BaseModel)

_VAR_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars.

    PyYAML follows YAML 1.1, where `17:00` is the integer 1020 (base 60) and
    `no`/`off` are booleans: exactly the values business files are made of. Dates stay
    text for the models to parse (YAML 1.2 has no timestamps), so `2027-13-45` is a
    field error rather than a crash in the YAML library.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regex)
        for tag, regex in resolvers
        if not tag.endswith((":bool", ":int", ":float", ":timestamp"))
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# No leading zeros: PyYAML would read `0800` as octal and fail on the 8; as text it
# reaches the field's own check ("quote times like '08:00'").
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    field: str  # dotted path, e.g. "routing.departments[1].name"; "" for the whole file
    reason: str
    line: int | None = None

    def __post_init__(self) -> None:
        # A reason may quote the bad value, e.g. a URL holding a key: never show secrets.
        object.__setattr__(self, "reason", redact(self.reason))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.reason}"


class ConfigError(Exception):
    """One or more config problems; str() lists each as `file[:line]: field: reason`."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def read_yaml(path: Path) -> tuple[Any, str]:
    """Parse a YAML file (UTF-8); raises ConfigError for unreadable files or bad syntax."""
    try:
        check_size(path.stat().st_size)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read file: {error}")]) from None
    except LimitExceeded as error:
        raise ConfigError([ConfigIssue(str(path), "", error.reason)]) from None
    try:
        return _load_bounded(text), text
    except LimitExceeded as error:
        raise ConfigError([ConfigIssue(str(path), "", error.reason, error.line)]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        reason = f"invalid YAML syntax{column}: {problem}"
        raise ConfigError([ConfigIssue(str(path), "", reason, line)]) from None


def _load_bounded(text: str) -> Any:
    """yaml.load with the bounds of yaml_limits checked before anything is built."""
    check_depth(text, _Yaml12Loader)
    loader = _Yaml12Loader(text)  # a SafeLoader subclass
    try:
        node = loader.get_single_node()
        check_expansion(node)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def interpolate(
    data: Any, env: Mapping[str, str], loc: tuple[int | str, ...] = ()
) -> tuple[Any, list[tuple[tuple[int | str, ...], str]]]:
    """Replace ${VAR} and ${VAR:-default} in every string; `$$` is a literal `$`.

    Done after parsing, so a variable's value can never change the YAML
    structure. Returns the new data and (location, reason) per missing variable.
    """
    missing: list[tuple[tuple[int | str, ...], str]] = []
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out[key], errs = interpolate(value, env, (*loc, key))
            missing.extend(errs)
        return out, missing
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            item, errs = interpolate(value, env, (*loc, index))
            items.append(item)
            missing.extend(errs)
        return items, missing
    if not isinstance(data, str) or "$" not in data:
        return data, missing

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append((loc, f"environment variable {name} is not set (used as ${{{name}}})"))
        return ""

    return _VAR_RE.sub(substitute, data), missing


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line number of the YAML node at `loc` (for the admin's editor)."""
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _reason(error: Mapping[str, Any]) -> str:
    kind: str = error["type"]
    message: str = error["msg"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "string_type" and isinstance(value, (int, float)):
        message += " (put quotes around it in the YAML)"
    return message


def _unknown_field_hint(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Suggest the intended field for a typo, by walking the model tree along `loc`."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        current = _model_in(fields[part].annotation)
        if current is None:
            return ""
    fields = getattr(current, "model_fields", {})
    hint = get_close_matches(str(loc[-1]), list(fields), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(fields)})"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validate_data(
    model: type[M], data: Any, file: str, text: str, env: Mapping[str, str], extra: dict[str, Any]
) -> M:
    """Interpolate env vars and validate; raises ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(file, "", "the file must be a YAML mapping (key: value)")])
    data, missing = interpolate(data, env)
    issues = [
        ConfigIssue(file, _loc_to_path(loc), reason, _line_of(text, loc)) for loc, reason in missing
    ]
    for key in extra:
        if key in data:
            issues.append(ConfigIssue(file, key, f"unknown field ({key} comes from the file name)"))
    try:
        result = model.model_validate({**data, **extra})
    except ValidationError as error:
        unset = {loc for loc, _ in missing}
        for item in error.errors():
            loc = tuple(item["loc"])
            if loc in unset:
                continue  # already reported as the missing variable
            reason = _reason(item)
            if item["type"] == "extra_forbidden":
                reason += _unknown_field_hint(model, loc)
            issues.append(ConfigIssue(file, _loc_to_path(loc), reason, _line_of(text, loc)))
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    return result


def load_business(path: Path | str, env: Mapping[str, str] | None = None) -> Business:
    """Load and validate one business file; the slug is the file name without .yaml."""
    path = Path(path)
    slug = path.name.removesuffix(".yaml").removesuffix(".yml")
    if not SLUG_RE.match(slug):
        raise ConfigError(
            [
                ConfigIssue(
                    str(path),
                    "slug",
                    f"unsafe file name '{path.name}': the slug '{slug}' must match "
                    "^[a-z0-9_-]+$ (lower-case letters, digits, '-' and '_')",
                )
            ]
        )
    data, text = read_yaml(path)
    env = os.environ if env is None else env
    return validate_data(Business, data, str(path), text, env, {"slug": slug})


def business_files(directory: Path | str) -> list[Path]:
    directory = Path(directory)
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def load_businesses(
    directory: Path | str, env: Mapping[str, str] | None = None
) -> dict[str, Business]:
    """Load every business file in `directory`, keyed by slug.

    Raises one ConfigError with the issues of every bad file, including the
    same dialed number (DID) claimed by two businesses.
    """
    businesses, issues = collect_businesses(directory, env)
    if issues:
        raise ConfigError(issues)
    return businesses


def collect_businesses(
    directory: Path | str, env: Mapping[str, str] | None = None
) -> tuple[dict[str, Business], list[ConfigIssue]]:
    """The good businesses of `directory` and the issues of the bad ones."""
    directory = Path(directory)
    if not directory.is_dir():
        return {}, [ConfigIssue(str(directory), "", "not a directory of business files")]
    businesses: dict[str, Business] = {}
    files: dict[str, Path] = {}
    issues: list[ConfigIssue] = []
    for path in business_files(directory):
        try:
            business = load_business(path, env)
        except ConfigError as error:
            issues.extend(error.issues)
            continue
        clashes = [
            ConfigIssue(str(path), f"dids[{index}]", f"{did} also reaches {files[other.slug]}")
            for index, did in enumerate(business.dids)
            for other in businesses.values()
            if any(did_matches(did, theirs) for theirs in other.dids)
        ]
        if clashes:
            issues.extend(clashes)
            continue
        businesses[business.slug] = business
        files[business.slug] = path
    return businesses, issues
