"""A real SIP call: sipp on the sandbox trunk, G.711 mu-law RTP, into the receptionist."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.audio.tones import dominant_frequency, tone
from receptionist.sandbox import SandboxInfo, chroot_command
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import receptionist
from tests.integration.rtp import mulaw

pytestmark = pytest.mark.integration

SCENARIO = Path(__file__).with_name("sipp") / "uac_ulaw.xml"


async def test_sipp_call_on_the_trunk_reaches_the_receptionist_and_hears_it(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    # The trunk caller talks straight away (over the greeting), then waits for the answer.
    script = Script(
        replies=[Reply(tone24(1000, 1.0), "Hello"), Reply(tone24(1000, 2.0), "Sure, go on")],
        caller_transcripts=["Hello? I have a question"],
    )
    root = Path(sandbox.chroot)
    work = Path(sandbox.run_dir) / "sipp"
    work.mkdir(exist_ok=True)
    inside = "/" + str(work.relative_to(root))
    (work / "caller.ulaw").write_bytes(mulaw(tone(440, 3000, 8000)))
    shutil.copy(SCENARIO, work / "uac.xml")
    (work / "fields.csv").write_text(f"SEQUENTIAL\n{inside}/caller.ulaw;\n")

    # Trunk calls carry no channel variables: the sandbox's own app name and the DID
    # (+15555550100, listed in the test business) choose the receptionist and business.
    async with receptionist(sandbox, tmp_path, script, app_name=sandbox.app) as live:
        command = chroot_command(
            root, "sipp", f"127.0.0.1:{sandbox.sip_port}", "-sf", f"{inside}/uac.xml",
            "-inf", f"{inside}/fields.csv", "-s", "+15555550100", "-i", sandbox.trunk_host,
            "-mi", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "30",
            "-trace_err", "-error_file", f"{inside}/errors.log",
        )  # fmt: skip
        sipp = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        live.fake.wait_timeout_s = 10
        await live.fake.wait_sent("response.done", 2)
        channel_id = next(iter(live.app.calls))
        counts: dict[str, int] = {}

        async def rtp_both_ways() -> bool:
            # chan_pjsip's RTP counters: "ssrc=..;rxcount=N;..;txcount=N;..".
            stats = await ari.get_variable(channel_id, "CHANNEL(rtcp,all)") or ""
            fields = dict(part.split("=", 1) for part in stats.split(";") if "=" in part)
            counts.update((k, int(fields.get(k) or 0)) for k in ("txcount", "rxcount"))
            return min(counts.values()) >= 100

        # The model's voice goes back out as RTP to the caller (~50 packets/s) while
        # the caller's keeps coming in; sipp hangs up 9 s after the answer.
        await eventually(rtp_both_ways, timeout=8)
        _, err = await asyncio.wait_for(sipp.communicate(), 30)
        assert sipp.returncode == 0, err.decode(errors="replace")[-2000:]

        # The caller's mu-law 440 Hz reached the model as 440 Hz at 24 kHz...
        assert dominant_frequency(live.fake.input_audio, 24000) == pytest.approx(440, abs=10)
        # ...and the model's voice went back out as RTP to the caller.
        assert counts["txcount"] >= 100 and counts["rxcount"] >= 100, counts
        record = live.store.get_call(channel_id)
        assert record is not None and record.business == "test-dental"
        assert record.caller_number == "+15550002222"
