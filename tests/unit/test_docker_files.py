"""The Docker files' promises that need no engine: the lock matches pyproject.toml, and
the images and compose file hold no secret (the stack itself runs in tests/docker)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def locked() -> dict[str, str]:
    text = (DOCKER / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_lock_pins_every_dependency_within_pyprojects_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in docker/requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name]), (
            f"docker/requirements.lock pins {name}=={pins[name]}, outside {requirement}: "
            "run make lock"
        )


def test_every_pin_has_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", (DOCKER / "requirements.lock").read_text())
    pinned = [block for block in blocks if re.match(r"[A-Za-z0-9_.-]+==", block)]
    assert pinned and all("--hash=sha256:" in block for block in pinned)


def test_no_password_is_written_into_an_image_or_the_compose_file() -> None:
    for name in ("Dockerfile", "Dockerfile.asterisk", "compose.yaml"):
        text = (DOCKER / name).read_text()
        assert not re.search(r"(?im)^\s*(ENV|ARG)\s+\S*(PASSWORD|API_KEY)", text), name
        # Compose passes secrets through from the environment or an env file, never a value.
        for match in re.finditer(r"(?m)^\s+(\w*(?:PASSWORD|API_KEY)\w*):\s*(.*)$", text):
            assert match.group(2).startswith("${"), match.group(0)


def test_the_build_context_leaves_out_the_venv_git_and_databases() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # Everything is left out first, then only what the images copy is let back in.
    assert rules[0] == "**"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed.isdisjoint({".venv", ".git", "data", "tests", "benchmarks"})
    assert "**/*.db" in rules
