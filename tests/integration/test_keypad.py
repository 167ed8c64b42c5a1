"""The keypad menu: keys act at once, never through the model; voicemail to a mailbox."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.audio.tones import dominant_frequency, tone
from receptionist.sandbox import SandboxInfo
from receptionist.store.handoffs import handoffs_of
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, eventually
from tests.integration.live import live_call, tone_spans

pytestmark = pytest.mark.integration

MAILBOX_DIR = Path("spool/voicemail/default/200/INBOX")  # mailbox 200 in the sandbox


def keypad_business(data: dict[str, Any]) -> None:
    front_desk = data["routing"]["departments"][0]
    front_desk["extension"] = "Local/205@ext-local"  # rings 5 s, then a stand-in answers
    front_desk["mailbox"] = "200@default"
    data["keypad"] = {
        "1": {"transfer": "Front Desk"},
        "9": {"voicemail": "front desk"},
        "0": {"operator": True},
    }


async def test_key_1_during_the_greeting_reaches_the_department_without_the_model(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(replies=[Reply(tone24(1000, 4.0), "Thanks for calling. Press 1 for...")])
    apps = f"{CALLER_APP},{PEOPLE_APP}"
    async with live_call(ari, sandbox, tmp_path, script, apps=apps, edit=keypad_business) as (
        live,
        watcher,
        call,
    ):
        assert call.peer is not None
        peer = call.peer
        await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1000)))  # greeting on
        await ari.send_dtmf(call.caller_id, "1")
        answered = await watcher.wait_for(
            lambda e: isinstance(e, StasisStart) and list(e.args) == ["frontdesk"], timeout=20
        )
        assert isinstance(answered, StasisStart)
        department = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_TRANSFER_DEPARTMENT")
        assert department == "Front Desk"
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "transferred" in record.outcomes
        assert record.tool_calls == ()  # the key acted without the model
        assert not [
            e for e in live.fake.events("conversation.item.create") if e.item.type != "message"
        ]
        await ari.hangup(call.dialplan_id)


async def test_key_9_leaves_a_voicemail_in_the_department_mailbox(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    inbox = Path(sandbox.run_dir) / MAILBOX_DIR
    before = set(inbox.glob("msg*.wav")) if inbox.exists() else set()
    script = Script(replies=[Reply(tone24(1000, 1.0), "Hello")])
    async with live_call(ari, sandbox, tmp_path, script, edit=keypad_business) as (
        live,
        _,
        call,
    ):
        assert call.peer is not None
        await live.fake.wait_sent("response.done")
        await ari.send_dtmf(call.caller_id, "9")

        async def in_voicemail() -> bool:
            channel = await ari.get_channel(call.dialplan_id)
            return channel is not None and channel.dialplan_context == "receptionist-voicemail"

        await eventually(in_voicemail)
        await call.peer.send_paced(tone(440, 2500))  # the caller's message
        await ari.hangup(call.dialplan_id)
        await eventually(lambda: set(inbox.glob("msg*.wav")) - before != set())
        [handoff] = handoffs_of(live.store, call.dialplan_id)
        assert (handoff.kind, handoff.department, handoff.target) == (
            "voicemail",
            "Front Desk",
            "200@default",
        )
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "voicemail" in record.outcomes

        def result() -> str | None:
            return handoffs_of(live.store, call.dialplan_id)[0].result

        await eventually(lambda: result() is not None)
        assert result() == "left"  # VoiceMail() reported it saved the message

    [message] = set(inbox.glob("msg*.wav")) - before
    with wave.open(str(message)) as wav:
        pcm, rate = wav.readframes(wav.getnframes()), wav.getframerate()
    assert dominant_frequency(pcm, rate) == pytest.approx(440, abs=10)
    assert len(pcm) / 2 / rate >= 1.5
