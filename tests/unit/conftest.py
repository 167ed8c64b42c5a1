"""Fixtures for the business-logic unit tests: business files, stores."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from receptionist.business import Business, load_business
from receptionist.store.log import AsyncStore, Store
from tests.unit.calendar_fixtures import booking_business, fake, key  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "businesses" / "example-dental.yaml"

MINIMAL = """
business: {name: Test Co, timezone: America/New_York}
hours:
  monday: {open: "08:00", close: "17:00"}
"""


@pytest.fixture
def dental() -> Business:
    return load_business(EXAMPLE, env={})


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML text (dedented) to tmp_path/<name> and return the path."""

    def write(text: str, name: str = "test-co.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_business(write_yaml: Callable[..., Path]) -> Callable[[str], Business]:
    """A Business from YAML text (the minimal business is used when it lacks `business:`)."""

    def make(text: str) -> Business:
        body = textwrap.dedent(text)
        if "business:" not in body:
            body = "business: {name: Test Co, timezone: America/New_York}\n" + body
        return load_business(write_yaml(body), env={})

    return make


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "data" / "receptionist.db")
    yield db
    db.close()


@pytest.fixture
async def async_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    db = AsyncStore(tmp_path / "data" / "receptionist.db")
    yield db
    await db.close()
