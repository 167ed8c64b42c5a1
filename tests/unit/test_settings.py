"""Service settings: defaults, file + environment merging, secrets, errors naming their source."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from receptionist.business import ConfigError
from receptionist.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _away_from_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # so the repo's config/receptionist.yaml is not picked up


def test_safe_defaults() -> None:
    s = load_settings(env={})
    assert s.ari_url == "http://127.0.0.1:8088" and s.ari_user == "receptionist"
    assert s.ari_password is None and s.ari_app == "receptionist"
    assert (s.audiosocket_host, s.audiosocket_port) == ("127.0.0.1", 9092)
    assert s.advertise_address == "127.0.0.1:9092"
    assert s.realtime_url is None and s.realtime_api_key is None
    assert s.realtime_model == "gpt-realtime"
    assert s.database == Path("data/receptionist.db")
    assert s.businesses_dir == Path("config/businesses")
    assert s.max_call_seconds == 900 and s.silence_timeout_seconds == 30
    assert s.shutdown_grace_seconds == 20
    assert (s.metrics_host, s.metrics_port) == ("127.0.0.1", 9097)
    assert s.missing_for_serve() == ["ari_password"]


def test_shipped_settings_file_is_valid() -> None:
    s = load_settings(
        REPO / "config" / "receptionist.yaml", env={"RECEPTIONIST_ARI_PASSWORD": "pw"}
    )
    assert s.ari_password is not None and s.ari_password.get_secret_value() == "pw"
    assert s.default_business == "example-dental"
    assert s.missing_for_serve() == []


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "ari_url: http://10.0.0.5:8088/\n"
        "audiosocket_port: 9100\n"
        "realtime_url: wss://gateway.example/v1\n"
        "realtime_api_key: from-file\n"
        "ari_password: ${ARI_PW}\n"
    )
    env = {
        "ARI_PW": "file-pw",
        "RECEPTIONIST_AUDIOSOCKET_PORT": "9200",  # environment wins over the file
        "RECEPTIONIST_METRICS_PORT": "",  # empty = unset
        "OPENAI_API_KEY": "generic",  # only used when nothing more specific is set
    }
    s = load_settings(path, env)
    assert s.ari_url == "http://10.0.0.5:8088"
    assert s.audiosocket_port == 9200 and s.advertise_address == "127.0.0.1:9200"
    assert s.metrics_port == 9097
    assert s.realtime_url == "wss://gateway.example/v1"
    assert s.realtime_api_key is not None and s.realtime_api_key.get_secret_value() == "from-file"
    assert s.ari_password is not None and s.ari_password.get_secret_value() == "file-pw"


def test_openai_key_and_data_dir_from_environment(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-test", "RECEPTIONIST_DATA_DIR": str(tmp_path / "d")}
    s = load_settings(None, env)
    assert s.realtime_api_key is not None and s.realtime_api_key.get_secret_value() == "sk-test"
    assert s.database == tmp_path / "d" / "receptionist.db"
    s = load_settings(None, {"OPENAI_API_KEY": "a", "RECEPTIONIST_REALTIME_API_KEY": "b"})
    assert s.realtime_api_key is not None and s.realtime_api_key.get_secret_value() == "b"


def test_settings_file_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("ari_app: front-office\n")
    assert load_settings(env={"RECEPTIONIST_SETTINGS": str(path)}).ari_app == "front-office"


def test_advertise_for_wildcard_bind() -> None:
    assert Settings(audiosocket_host="0.0.0.0").advertise_address == "127.0.0.1:9092"
    assert Settings(audiosocket_host="::1").advertise_address == "[::1]:9092"
    s = Settings(audiosocket_host="0.0.0.0", audiosocket_advertise="10.0.0.2:9092")
    assert s.advertise_address == "10.0.0.2:9092"


def test_secrets_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(
        None,
        {"RECEPTIONIST_ARI_PASSWORD": "hunter2", "OPENAI_API_KEY": "sk-secret", "X": ""},
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings %s %r", s, s)
    for text in (repr(s), str(s), s.model_dump_json(), str(s.redacted()), caplog.text):
        assert "hunter2" not in text and "sk-secret" not in text
    assert s.redacted()["ari_password"] == "(set)"
    assert s.redacted()["realtime_url"] == "(unset)"


def _issue_lines(error: ConfigError) -> list[str]:
    return str(error).splitlines()


def test_bad_values_name_file_field_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "ari_url: ftp://pbx\naudiosocket_port: 70000\nrealtime_url: https://x\nari_pasword: x\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    lines = _issue_lines(caught.value)
    assert any(f"{path}: ari_url: " in line and "http(s) URL" in line for line in lines)
    assert any(f"{path}: audiosocket_port: " in line and "65535" in line for line in lines)
    assert any(f"{path}: realtime_url: " in line and "websocket URL" in line for line in lines)
    assert any(f"{path}: ari_pasword: unknown setting" in line for line in lines)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"RECEPTIONIST_MAX_CALL_SECONDS": "soon"})
    assert "environment: RECEPTIONIST_MAX_CALL_SECONDS: " in str(caught.value)
    assert "integer" in str(caught.value)


def test_plus_in_ari_credentials_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"RECEPTIONIST_ARI_PASSWORD: must not contain '\+'"):
        load_settings(None, {"RECEPTIONIST_ARI_PASSWORD": "a+b"})


def test_missing_env_var_in_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("ari_password: ${ARI_SECRET}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert f"{path}: ari_password: environment variable ARI_SECRET is not set" in str(caught.value)


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_bad_yaml_in_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("ari_url: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML syntax"):
        load_settings(path, env={})


def test_shipped_file_paths_are_relative_to_the_file_not_the_cwd() -> None:
    s = load_settings(REPO / "config" / "receptionist.yaml", env={})
    assert s.businesses_dir == REPO / "config" / "businesses"
    assert (s.businesses_dir / "example-dental.yaml").is_file()


def test_installed_layout_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc" / "receptionist"
    etc.mkdir(parents=True)
    (etc / "receptionist.yaml").write_text(
        "database: ../../var/lib/receptionist/receptionist.db\nbusinesses_dir: businesses\n"
    )
    monkeypatch.setattr(
        "receptionist.settings.SEARCH_PATH",
        (Path("config/receptionist.yaml"), etc / "receptionist.yaml"),
    )
    s = load_settings(env={})
    assert s.database == tmp_path / "var" / "lib" / "receptionist" / "receptionist.db"
    assert s.businesses_dir == etc / "businesses"
    # The environment still names the file first; its paths are relative to that file.
    other = tmp_path / "other.yaml"
    other.write_text("database: calls.db\n")
    named = load_settings(env={"RECEPTIONIST_SETTINGS": str(other)})
    assert named.database == tmp_path / "calls.db"


def test_overrides_win_and_everything_derived_follows() -> None:
    s = load_settings(env={"RECEPTIONIST_AUDIOSOCKET_PORT": "9200"})
    assert s.advertise_address == "127.0.0.1:9200"
    moved = load_settings(
        env={"RECEPTIONIST_AUDIOSOCKET_PORT": "9200"}, overrides={"audiosocket_port": 40123}
    )
    assert moved.advertise_address == "127.0.0.1:40123"
    # A copy is validated whole too: nothing derived goes stale, bad values are refused.
    assert s.model_copy(update={"audiosocket_port": 40124}).advertise_address.endswith(":40124")
    with pytest.raises(ValueError):
        s.model_copy(update={"audiosocket_port": 70000})


def test_web_page_settings_default_to_loopback_and_come_from_the_environment() -> None:
    s = load_settings(env={})
    assert (s.web_host, s.web_port, s.web_cookie_secure) == ("127.0.0.1", 9098, "auto")
    s = load_settings(
        env={"RECEPTIONIST_WEB_PORT": "8443", "RECEPTIONIST_WEB_COOKIE_SECURE": "always"}
    )
    assert (s.web_port, s.web_cookie_secure) == (8443, "always")
    with pytest.raises(ConfigError, match="RECEPTIONIST_WEB_COOKIE_SECURE"):
        load_settings(env={"RECEPTIONIST_WEB_COOKIE_SECURE": "sometimes"})
