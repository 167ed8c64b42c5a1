"""Service settings: where Asterisk, the realtime model and the database are.

Sources, later wins: built-in defaults (loopback everywhere, SQLite under
./data), the settings file (YAML, `${VAR}` interpolated; its relative paths are
relative to the file), then RECEPTIONIST_<FIELD> environment variables, then
overrides from the caller (e.g. the sandbox's ports); validated once, whole.
The realtime key may also come from OPENAI_API_KEY, used only when neither the
file nor RECEPTIONIST_REALTIME_API_KEY sets one.
Secrets are SecretStr: they print as '**********' in repr, logs and dumps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from receptionist.business.loader import ConfigError, ConfigIssue, interpolate, read_yaml
from receptionist.business.model_choice import ModelChoice, Prices
from receptionist.business.models import SLUG_RE
from receptionist.store.pg.url import PostgresUrl, database_location, is_postgres

ENV_PREFIX = "RECEPTIONIST_"
DEFAULT_SETTINGS_FILE = Path("config/receptionist.yaml")
DEFAULT_DATA_DIR = Path("data")
# Where commands look for the settings file when neither --settings nor
# RECEPTIONIST_SETTINGS names one: a checkout first, then the installed layout.
SEARCH_PATH = (DEFAULT_SETTINGS_FILE, Path("/etc/receptionist/receptionist.yaml"))
SEARCH_TEXT = (
    f"$RECEPTIONIST_SETTINGS, else ./{SEARCH_PATH[0]} (this directory's), else {SEARCH_PATH[1]}"
)
PATH_FIELDS = ("database", "businesses_dir", "recordings_dir", "asterisk_config_dir")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "receptionist"
    ari_password: SecretStr | None = None  # required by `serve`, optional for the other commands
    ari_app: str = Field("receptionist", pattern=r"^[A-Za-z0-9_.-]+$")
    # Several instances per Asterisk (see docs/deployment.md): instance I runs as ARI app
    # <ari_app>-I with its ports moved up by 10 * (I-1); `workers` > 1 makes `serve` a supervisor.
    instance: int | None = Field(None, ge=1, le=999)
    workers: int = Field(1, ge=1, le=64)
    # "auto": uvloop when installed (the `fast` extra), else asyncio's loop.
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    audiosocket_host: str = "127.0.0.1"  # AudioSocket has no authentication: keep it on loopback
    audiosocket_port: int = Field(9092, ge=0, le=65535)
    # "auto": slin24, the model's rate, where Asterisk supports it (20.17, 21.12, 22.7, 23.1
    # and later), else slin (8 kHz). slin16 and slin make the service resample (soxr, which
    # holds back about 21 and 43 ms each way).
    audiosocket_format: Literal["auto", "slin24", "slin16", "slin"] = "auto"
    audiosocket_advertise: str | None = None  # host:port Asterisk connects to; default host:port
    realtime_url: str | None = None  # websocket base URL, e.g. wss://gateway.example/v1
    realtime_api_key: SecretStr | None = None
    realtime_model: str = Field("gpt-realtime", min_length=1)
    # The model for businesses whose file has no `model:` section (see docs/models.md);
    # None: OpenAI Realtime with the realtime_* settings above.
    model: ModelChoice | None = None
    # List prices per provider for each call's cost estimate (docs/models.md), each with
    # the day it was read; a business's `model: prices:` overrides its provider's.
    prices: dict[str, Prices] = Field(default_factory=dict)
    # A SQLite file, or a postgresql:// URL (its password is never shown).
    database: Annotated[Path | PostgresUrl, BeforeValidator(database_location)] = (
        DEFAULT_DATA_DIR / "receptionist.db"
    )
    businesses_dir: Path = Path("config/businesses")
    default_business: str | None = Field(None, pattern=SLUG_RE.pattern)
    max_call_seconds: int = Field(900, gt=0)
    silence_timeout_seconds: int = Field(30, gt=0)
    shutdown_grace_seconds: int = Field(20, ge=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9097, ge=0, le=65535)
    # Where Asterisk writes ARI recordings (its spool's recording/ folder): recording
    # paths in the call log point here.
    recordings_dir: Path = Path("/var/spool/asterisk/recording")
    # Asterisk's configs, read only to warn about passwords left at the placeholder.
    asterisk_config_dir: Path = Path("/etc/asterisk")
    # The office web page (inbox, calls, live view): loopback unless put behind a TLS proxy.
    web_host: str = "127.0.0.1"
    web_port: int = Field(9098, ge=0, le=65535)
    # Secure cookies: "auto" when the request came over TLS, directly or (X-Forwarded-Proto)
    # through one of web_trusted_proxies (comma-separated addresses).
    web_cookie_secure: Literal["auto", "always", "never"] = "auto"
    web_trusted_proxies: str = "127.0.0.1,::1"

    @field_validator("ari_url")
    @classmethod
    def _check_ari_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{value}' is not an http(s) URL like http://127.0.0.1:8088")
        if parts.username or parts.password:
            raise ValueError("put ARI credentials in ari_user/ari_password, not in the URL")
        return value.rstrip("/")

    @field_validator("realtime_url")
    @classmethod
    def _check_realtime_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"'{value}' is not a websocket URL like wss://api.example.com/v1")
        return value.rstrip("/")

    @field_validator("ari_user", "ari_password")
    @classmethod
    def _no_plus(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and "+" in text:
            raise ValueError("must not contain '+': it breaks ARI's query-string authentication")
        return value

    @field_validator("audiosocket_advertise")
    @classmethod
    def _check_advertise(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"'{value}' is not host:port")
        return value

    @property
    def advertise_address(self) -> str:
        """The host:port Asterisk connects to: configured, else derived from the bind.

        Derived on read, never stored, so no copy of the settings can hold a stale value."""
        if self.audiosocket_advertise is not None:
            return self.audiosocket_advertise
        host = self.audiosocket_host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"  # a wildcard bind is not an address to connect to
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.audiosocket_port}"

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        """A copy validated whole, like every Settings (pydantic's copy skips validation)."""
        data = {name: getattr(self, name) for name in self.model_fields_set}
        return type(self).model_validate({**data, **(update or {})})

    def missing_for_serve(self) -> list[str]:
        """Settings `serve` cannot run without (the realtime key is optional: calls fall back)."""
        return ["ari_password"] if self.ari_password is None else []

    def redacted(self) -> dict[str, str]:
        """Every setting as text, secrets shown only as set/unset: safe to print and log."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "(set)"
            else:
                out[name] = "(unset)" if value is None else str(value)
        return out


def settings_path(path: Path | str | None, env: Mapping[str, str]) -> Path | None:
    """The settings file to read: explicit, RECEPTIONIST_SETTINGS, then the first of
    SEARCH_PATH that exists (a checkout's config/, then the installed /etc/receptionist)."""
    if path is not None:
        return Path(path)
    if env.get(ENV_PREFIX + "SETTINGS"):
        return Path(env[ENV_PREFIX + "SETTINGS"])
    return next((candidate for candidate in SEARCH_PATH if candidate.is_file()), None)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths written in a settings file mean: next to that file, whatever the cwd."""
    for name in PATH_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and not Path(value).is_absolute() and not is_postgres(value):
            data[name] = os.path.normpath(base / value)
    return data


def load_settings(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults, the settings file, RECEPTIONIST_* variables and `overrides` (later
    wins) and validate the whole once; ConfigError on problems."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, tuple[str, str]] = {}  # field -> (file, field path) for error messages
    issues: list[ConfigIssue] = []
    file = settings_path(path, env)
    if file is not None:
        if not file.is_file():
            raise ConfigError([ConfigIssue(str(file), "", "settings file not found")])
        data, _ = read_yaml(file)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError([ConfigIssue(str(file), "", "the file must be a YAML mapping")])
        data, missing = interpolate(data, env)
        data = {key: value for key, value in data.items() if value not in ("", None)}
        data = _resolve_paths(data, file.resolve().parent)
        issues.extend(ConfigIssue(str(file), str(loc[0]), reason) for loc, reason in missing)
        values.update(data)
        sources.update({key: (str(file), str(key)) for key in data})
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw:  # empty means unset, as docker-compose's ${VAR:-} produces
            values[name] = raw
            sources[name] = ("environment", ENV_PREFIX + name.upper())
    if "realtime_api_key" not in values and env.get("OPENAI_API_KEY"):
        values["realtime_api_key"] = env["OPENAI_API_KEY"]
        sources["realtime_api_key"] = ("environment", "OPENAI_API_KEY")
    if "database" not in values and env.get(ENV_PREFIX + "DATA_DIR"):
        values["database"] = Path(env[ENV_PREFIX + "DATA_DIR"]) / "receptionist.db"
        sources["database"] = ("environment", ENV_PREFIX + "DATA_DIR")
    for name, value in (overrides or {}).items():
        values[name] = value
        sources[name] = ("override", name)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else ""
            where, field = sources.get(key, (str(file) if file else "settings", key))
            reason = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                reason = f"unknown setting (known: {', '.join(Settings.model_fields)})"
            issues.append(ConfigIssue(where, field, reason))
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    return settings
