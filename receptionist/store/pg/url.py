"""A `postgresql://` URL for the call log, kept whole but shown without its password."""

from __future__ import annotations

import re
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from receptionist.core.redact import redact

SCHEMES = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)


class PostgresUrl:
    """The `database` setting when it names a PostgreSQL server instead of a file.

    str() and repr() hide the password (it may be written in the URL), so the URL can
    appear in errors and logs; `secret()` is the whole URL, for the driver only.
    """

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        if not SCHEMES.match(url):
            raise ValueError(f"not a postgresql:// URL: {redact(url)}")
        self._url = url

    def secret(self) -> str:
        return self._url

    def __str__(self) -> str:
        return redact(self._url)

    def __repr__(self) -> str:
        return f"PostgresUrl({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PostgresUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Dumped (config reports, JSON) as the redacted text, never with the password.
        shown = core_schema.plain_serializer_function_ser_schema(str)
        return core_schema.is_instance_schema(cls, serialization=shown)


def is_postgres(location: object) -> bool:
    return isinstance(location, PostgresUrl) or (
        isinstance(location, str) and bool(SCHEMES.match(location))
    )


def database_location(value: object) -> object:
    """The settings validator: a postgresql:// string becomes a PostgresUrl, the rest a path."""
    return PostgresUrl(value) if isinstance(value, str) and is_postgres(value) else value
