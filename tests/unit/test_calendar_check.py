"""`config check` refuses a business whose calendar key file is missing or broken;
`config check --online` reaches the calendar with it (a fake Google Calendar here)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.service.config_check import check_config
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file
from tests.unit.calendar_fixtures import CAL, EMAIL, HOURS

BUSINESS = "business: {name: Test Co, timezone: America/New_York}\n" + HOURS


def business_dir(tmp_path: Path, key_file: Path, endpoint: str = "") -> Path:
    directory = tmp_path / "businesses"
    directory.mkdir(exist_ok=True)
    api = f"  api_endpoint: {endpoint}\n" if endpoint else ""
    text = f"{BUSINESS}calendar:\n  calendar_id: {CAL}\n  credentials_file: {key_file}\n{api}"
    (directory / "test-co.yaml").write_text(text, encoding="utf-8")
    return directory


def test_missing_or_broken_key_file_fails_the_offline_check(tmp_path: Path) -> None:
    key_file = tmp_path / "missing.json"
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"businesses_dir: {tmp_path / 'businesses'}\n", encoding="utf-8")
    report = check_config(business_dir(tmp_path, key_file), settings, env={})
    [issue] = report.errors
    assert issue.field == "calendar.credentials_file" and "no such file" in issue.reason
    assert issue.file.endswith("test-co.yaml")
    key_file.write_text(json.dumps({"type": "service_account"}), encoding="utf-8")
    [issue] = check_config(business_dir(tmp_path, key_file), settings, env={}).errors
    assert "not a usable service-account key file" in issue.reason


async def check_online(directory: Path) -> tuple[int, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTIONIST_")}
    settings = directory.parent / "settings.yaml"
    settings.write_text(f"businesses_dir: {directory}\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "receptionist.cli", "config", "check", str(directory),
        "--settings", str(settings), "--online", "--json", stdout=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, json.loads(out)


async def test_online_check_reaches_the_calendar_with_the_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy={CAL: []}) as fake:
        key_file = write_key_file(tmp_path / "sa.json", key, fake.token_uri, EMAIL)
        directory = business_dir(tmp_path, key_file, fake.url)
        code, report = await check_online(directory)
        assert code == 0 and report["calendars_reached"] == [f"test-co: calendar {CAL}"], report
        assert fake.token_requests == 1 and len(fake.freebusy_requests) == 1
        # A key the token endpoint does not know, then a calendar not shared with the account.
        write_key_file(key_file, rsa.generate_private_key(65537, 1024), fake.token_uri, EMAIL)
        code, report = await check_online(directory)
        [error] = report["errors"]  # type: ignore[misc]
        assert code == 1 and error["field"] == "calendar"
        assert "token endpoint refused the key" in error["reason"]
        write_key_file(key_file, key, fake.token_uri, EMAIL)
        fake.busy.clear()
        code, report = await check_online(directory)
        [error] = report["errors"]  # type: ignore[misc]
        assert (
            code == 1 and "free/busy refused" in error["reason"] and "notFound" in error["reason"]
        )
