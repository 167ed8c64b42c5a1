"""A real SIP phone on the sandbox, as the README says: register as 201 with the printed
password, dial 100, hear the receptionist; after `sandbox down` and `up` the same
credentials still register. sipp does the SIP (REGISTER and INVITE with digest auth);
the phone's RTP goes to a socket of the test, which hears and speaks as the caller."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.audio.tones import dominant_frequency, tone
from receptionist.sandbox import Sandbox, SandboxInfo, chroot_command
from receptionist.sandbox.profile import forget_profile
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import SLUG, receptionist, run_cli, tone_spans
from tests.integration.rtp import RtpPeer

pytestmark = pytest.mark.integration

SIPP = Path(__file__).with_name("sipp")


@pytest.fixture
def phone_box() -> Iterator[Sandbox]:
    """A sandbox of its own that keeps its ports and passwords, as `sandbox up` does."""
    name = f"pytest-phone-{os.getpid()}"
    forget_profile(name)
    box = Sandbox(name, people_app=PEOPLE_APP, persist=True)
    try:
        yield box
    finally:
        box.stop()
        forget_profile(name)


async def sipp(info: SandboxInfo, scenario: str, user: str, password: str, *fields: str) -> None:
    """Run a sipp scenario as phone `user` from 127.0.0.1 (not the trunk's address)."""
    root = Path(info.chroot)
    work = Path(info.run_dir) / "phone"
    work.mkdir(exist_ok=True)
    inside = "/" + str(work.relative_to(root))
    shutil.copy(SIPP / scenario, work / scenario)
    (work / "fields.csv").write_text("SEQUENTIAL\n" + ";".join(fields) + ";\n")
    command = chroot_command(
        root, "sipp", f"{info.sip_host}:{info.sip_port}", "-sf", f"{inside}/{scenario}",
        "-inf", f"{inside}/fields.csv", "-s", user, "-au", user, "-ap", password,
        "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "30",
        "-trace_err", "-error_file", f"{inside}/errors.log",
    )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 40)
    errors = (work / "errors.log").read_text() if (work / "errors.log").is_file() else ""
    assert proc.returncode == 0, f"sipp {scenario}: {err.decode()[-1500:]}\n{errors[-3000:]}"


async def test_softphone_registers_as_201_dials_100_and_hears_the_receptionist(
    phone_box: Sandbox, tmp_path: Path
) -> None:
    info = phone_box.start()
    assert info.sip_extensions == ("201", "202") and info.trunk_host != "127.0.0.1"
    script = Script(replies=[Reply(tone24(1000, 1.5), "Thanks for calling Example Dental.")])
    async with (
        AriClient(info.ari_url, info.ari_user, info.ari_password) as ari,
        receptionist(info, tmp_path, script, app_name=info.app, default_business=SLUG) as live,
        RtpPeer() as phone,
    ):
        await sipp(info, "register.xml", "201", info.sip_password)
        assert (await ari.endpoint_state("PJSIP", "201"))[0] == "online"

        dialing = asyncio.create_task(
            sipp(info, "phone_call.xml", "201", info.sip_password, "100", str(phone.port))
        )
        await asyncio.wait_for(phone.first_packet.wait(), 10)
        # The caller listens to the greeting, then talks back (talking over its first
        # moment would cut it short: a barge-in).
        await eventually(lambda: any(tone_spans(bytes(phone.heard), 8000, 1000)))
        await phone.speak(tone(440, 1500, 8000))
        await dialing

        # The caller heard the receptionist's voice (the model's 1 kHz, through G.711)...
        assert any(tone_spans(bytes(phone.heard), 8000, 1000)), "no greeting heard"
        # ...and the model heard the caller's 440 Hz.
        assert dominant_frequency(live.fake.input_audio, 24000) == pytest.approx(440, abs=10)
        [record] = live.store.list_calls()
        assert record.business == SLUG and record.caller_number == "201"

    # `receptionist sandbox down`, then `up`, as a user runs them: the same port and
    # password come back, and the phone registers with what it was set up with.
    env = {**os.environ, "RECEPTIONIST_SANDBOX": phone_box.name}
    code, out = await run_cli(env, tmp_path, "sandbox", "down", "--name", phone_box.name)
    assert code == 0 and "stopped" in out, out
    code, out = await run_cli(env, tmp_path, "sandbox", "up", "--name", phone_box.name, "--json")
    assert code == 0, out
    again = SandboxInfo(**{**json.loads(out[out.index("{") :]), "sip_extensions": ("201", "202")})
    assert (again.sip_port, again.sip_password) == (info.sip_port, info.sip_password)
    await sipp(again, "register.xml", "201", info.sip_password)
    async with AriClient(again.ari_url, again.ari_user, again.ari_password) as ari:
        assert (await ari.endpoint_state("PJSIP", "201"))[0] == "online"
