"""The files an admin installs, run by a real Asterisk: asterisk/modules.conf loads the
security log, asterisk/extensions.conf takes trunk calls without a dialed number, and
the FreePBX snippet brings a caller back from an extension that does not answer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.sandbox import Sandbox, SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.integration.harness import CALLER_APP, EventWatcher, place_call

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PEOPLE = f"""
[sandbox-people]
exten => _[a-z].,1,Answer()
 same => n,Stasis({PEOPLE_APP},${{EXTEN}})
 same => n,Hangup()
"""
# A stand-in for the part of FreePBX's generated ext-local that matters here: ring
# the extension for its ring time (2 s), then hand the call to voicemail, which
# answers, unless voicemail is blocked for this call (the SHARED BLKVM flag on the
# channel named by BLKVM_CHANNEL, which FreePBX's voicemail step checks).
FREEPBX_EXT_LOCAL = """
[ext-local]
exten => 201,1,Wait(2)
 same => n,GotoIf($["${SHARED(BLKVM,${BLKVM_CHANNEL})}" = "TRUE"]?blocked)
 same => n,Dial(Local/voicemail@sandbox-people)
 same => n(blocked),Hangup()
"""


@pytest.fixture
def sandbox_with() -> Iterator[Callable[[dict[str, str]], SandboxInfo]]:
    """Start a sandbox of its own with some config files replaced."""
    started: list[Sandbox] = []

    def start(overrides: dict[str, str]) -> SandboxInfo:
        box = Sandbox(f"pytest-admin-{os.getpid()}", people_app=PEOPLE_APP,
                      config_overrides=overrides)  # fmt: skip
        started.append(box)
        return box.start()

    try:
        yield start
    finally:
        for box in started:
            box.stop()


async def test_installed_modules_load_the_security_log(ari: AriClient) -> None:
    # The sandbox loads asterisk/modules.conf unchanged.
    module = await ari.request("GET", "asterisk/modules/res_security_log.so")
    assert module["status"] == "Running"


async def test_trunk_call_without_a_dialed_number_reaches_the_receptionist(
    sandbox_with: Callable[[dict[str, str]], SandboxInfo],
) -> None:
    extensions = (REPO / "asterisk/extensions.conf").read_text() + PEOPLE
    info = sandbox_with({"extensions.conf": extensions})
    async with (
        AriClient(info.ari_url, info.ari_user, info.ari_password) as ari,
        EventWatcher(ari, f"receptionist,{CALLER_APP}") as watcher,
    ):
        call = await place_call(ari, watcher, None, "s", context="from-trunk")
        start = await watcher.stasis_start("receptionist", id=call.dialplan_id)
        assert start.args[:2] == ("inbound", "")  # the business then comes from the DID
        await ari.hangup(call.dialplan_id)


async def test_freepbx_extension_that_does_not_answer_returns_the_caller(
    sandbox_with: Callable[[dict[str, str]], SandboxInfo],
) -> None:
    info = sandbox_with({
        "extensions_custom.conf": (REPO / "dialplan/freepbx/extensions_custom.conf").read_text(),
        "extensions.conf": "[globals]\n#include extensions_custom.conf\n"
        + FREEPBX_EXT_LOCAL + PEOPLE,
    })  # fmt: skip
    app = "rx-freepbx"
    transfer = {
        "__RECEPTIONIST_APP": app,
        "__RECEPTIONIST_TRANSFER_TARGET": "Local/201@ext-local",
        "__RECEPTIONIST_TRANSFER_TIMEOUT": "20",
    }
    async with (
        AriClient(info.ari_url, info.ari_user, info.ari_password) as ari,
        EventWatcher(ari, f"{app},{PEOPLE_APP},{CALLER_APP}") as watcher,
    ):
        # Without the hook (dialled straight), the stand-in's voicemail takes the call.
        direct = await place_call(ari, watcher, None, "201", context="ext-local")
        voicemail = await watcher.stasis_start(PEOPLE_APP)
        assert voicemail.args == ("voicemail",)
        await ari.hangup(direct.dialplan_id)

        # A transfer runs the hook: no voicemail, the caller comes back to the app.
        call = await place_call(ari, watcher, None, "s", context="receptionist-transfer",
                                variables=transfer)  # fmt: skip
        back = await watcher.stasis_start(app, timeout=15, id=call.dialplan_id)
        assert back.args[0] == "transfer-failed"
        assert back.args[-1] in ("NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL"), back.args
        reached_people = [
            e for e in watcher.events
            if isinstance(e, StasisStart) and e.application == PEOPLE_APP
        ]  # fmt: skip
        assert reached_people == [voicemail], "the transfer reached voicemail"
        await ari.hangup(call.dialplan_id)
