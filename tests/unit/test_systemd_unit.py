"""The shipped systemd unit: `systemd-analyze verify` accepts it on the installed layout
(an alternate root holding the program where the README installs it), and it keeps the
hardening and the FreePBX-safe ordering the README promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "receptionist.service"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")  # targets the unit is ordered against


def _settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    installed = root / "etc/systemd/system" / UNIT.name
    installed.parent.mkdir(parents=True)
    shutil.copy(UNIT, installed)
    program = root / "opt/receptionist/bin/receptionist"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", str(installed)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_unit_is_hardened_and_does_not_require_asterisk_service() -> None:
    values = _settings()
    for key, expected in {
        "Restart": "always",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "EnvironmentFile": "/etc/receptionist/receptionist.env",
        "Environment": "RECEPTIONIST_SETTINGS=/etc/receptionist/receptionist.yaml",
        "User": "receptionist",
    }.items():
        assert expected in values[key], key
    assert "/var/lib/receptionist" in values["ReadWritePaths"][0].split()
    # FreePBX runs Asterisk from freepbx.service: order after either, depend on neither.
    assert "Requires" not in values and "BindsTo" not in values
    assert not any("asterisk" in value for value in values.get("Wants", []))
    assert values["ExecStart"] == ["/opt/receptionist/bin/receptionist serve"]
