"""The Docker files' promises that need no engine: the lock matches pyproject.toml, and
the images and compose file hold no secret (the stack itself runs in tests/docker)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml
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


def test_every_default_bind_mount_source_ships_in_the_checkout() -> None:
    """A missing bind-mount source is made by the engine, as root: compose would leave an
    empty root-owned directory in the checkout."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                                 text=True, check=True).stdout.splitlines())  # fmt: skip
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            # "${VAR:-./dir}:/in/container[:ro]" or "name:/in/container"
            found = re.match(r"(?:\$\{\w+:-([^}]+)\}|([^:]+)):", volume)
            assert found, volume
            source = found.group(1) or found.group(2)
            if source.startswith("."):
                sources.append((DOCKER / source).resolve())
    assert sources
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        assert any(name.startswith(relative + "/") for name in tracked), relative


def test_the_documented_docker_path_runs_on_debians_engine_and_without_the_registry() -> None:
    readme = (DOCKER / "README.md").read_text()
    commands = [line.strip() for line in readme.splitlines()
                if re.match(r"\s{4,}(\S+=\S+\s+)*docker", line)]  # fmt: skip
    assert commands
    # Debian's engine has no compose plugin: `docker compose` would not run there.
    assert all(not line.startswith("docker compose") for line in commands), commands
    assert "make docker-bases" in readme and 'PIP_EXTRA_CA="$(cat ' in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"(?m)^docker-bases:\n\tsh docker/bases\.sh$", makefile)
    subprocess.run(["sh", "-n", str(DOCKER / "bases.sh")], check=True)  # parses
    # tests/docker makes its base images with the same documented command.
    engine = (ROOT / "tests" / "docker" / "engine.py").read_text()
    assert '"docker-bases"' in engine
