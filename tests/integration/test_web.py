"""The web page against a real call: the sandbox Asterisk, the receptionist and a fake
model, looked at in Debian's headless Chromium.

1. A recorded call leaves a message; a staff user finds it at the top of the inbox,
   reads the transcript in order, plays the recording and marks the message handled,
   which the CLI then shows.
3. The live view shows a call soon after answer and drops it soon after hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
from receptionist.store.users import Users
from tests.browser import DESKTOP, PHONE, chromium, shoot, sign_in
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import AudioSocketPeer, EventWatcher, eventually, place_call
from tests.integration.live import (
    SLUG,
    Live,
    function_outputs,
    has_tone,
    live_call,
    receptionist,
)
from tests.web_site import PASSWORD, serving

pytestmark = pytest.mark.integration

MESSAGE = {"caller_name": "Jane Roe", "callback_number": "(555) 234-5678",
           "message": "Please call me about my crown."}  # fmt: skip


@contextlib.asynccontextmanager
async def web_page(live: Live) -> AsyncIterator[tuple[Page, str]]:
    """The web page over the running receptionist's call log and calls, and a browser tab
    signed in as a staff user of the test business."""
    Users(live.store.sql).add("frontdesk", PASSWORD, "staff", [SLUG])
    settings, businesses = live.app.settings, live.app.businesses
    async with serving(settings, businesses, lambda: live.app.calls) as base, chromium() as b:
        context = await b.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        tab = await context.new_page()
        await sign_in(tab, base, "frontdesk", PASSWORD, "/inbox")
        yield tab, base


async def test_a_recorded_message_is_read_played_and_handled_in_the_browser(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(
        replies=[
            Reply(tone24(600, 1.0), "This call may be recorded. How can I help?"),
            Reply(tone24(1000, 1.0), "I'll pass that on.",
                  calls=(ToolCall("take_message", MESSAGE),)),
        ],
        caller_transcripts=["Can someone call me back about my crown?"],
    )  # fmt: skip
    async with live_call(ari, sandbox, tmp_path, script, recording=True) as (live, _, call):
        assert call.peer is not None
        # The caller listens politely to the whole consent before talking.
        await call.peer.wait_frames(has_tone(600), 45)
        await call.peer.wait_quiet()
        await call.peer.send_paced(tone(440, 1500))
        await call.peer.send_paced(bytes(16000 * 2))
        await function_outputs(live, 1)
        await live.fake.wait_sent("response.done", 2)
        await ari.hangup(call.dialplan_id)
        await eventually(lambda: bool((r := live.store.get_call(call.dialplan_id))
                                      and r.recordings and r.ended_at))  # fmt: skip
        record = live.store.get_call(call.dialplan_id)
        assert record is not None
        wav_path = Path(record.recordings[0].path)
        message_id = record.messages[0].id

        async with web_page(live) as (tab, _):
            top = tab.locator("li.message").first
            await expect(top.locator("h2")).to_have_text("Jane Roe")
            await expect(top.locator("a.tel")).to_have_attribute("href", "tel:+15552345678")
            await expect(top.locator(".text")).to_have_text(MESSAGE["message"])
            await shoot(tab, "inbox-desktop")
            await tab.set_viewport_size(PHONE)  # type: ignore[arg-type]
            await shoot(tab, "inbox-phone")
            await tab.set_viewport_size(DESKTOP)  # type: ignore[arg-type]

            await top.get_by_role("link", name="Call details").click()
            await expect(tab.locator("h1")).to_contain_text("Call from")
            items = tab.locator("ol.transcript li")
            expected = [t.text for t in record.turns]
            turns = await tab.locator("ol.transcript li.turn p").all_inner_texts()
            assert turns == expected and len(turns) >= 3
            times = [_seconds(t) for t in await items.locator(".when").all_inner_texts()]
            assert times == sorted(times), "the conversation is not in time order"
            await expect(tab.locator("li.tool")).to_contain_text("Message saved")

            audio = tab.locator("audio")
            played = await audio.evaluate(
                "a => new Promise((ok, fail) => {"
                " a.addEventListener('timeupdate', () => a.currentTime > 0.2 &&"
                "   ok([a.duration, a.currentTime]));"
                " a.addEventListener('error', () => fail(a.error && a.error.message));"
                " a.play().catch(fail); })"
            )
            with wave.open(str(wav_path)) as wav:
                length = wav.getnframes() / wav.getframerate()
            assert played[0] == pytest.approx(length, abs=0.05)
            # Seeking asks the server for a byte range; it must land where asked.
            seeked = await audio.evaluate(
                "a => new Promise(ok => { a.addEventListener('seeked', () => ok(a.currentTime),"
                " {once: true}); a.currentTime = a.duration / 2; })"
            )
            assert seeked == pytest.approx(length / 2, abs=0.1)
            await audio.evaluate("a => a.pause()")
            await shoot(tab, "call-desktop")
            await tab.set_viewport_size(PHONE)  # type: ignore[arg-type]
            await shoot(tab, "call-phone")

            await tab.get_by_role("button", name="Mark handled").click()
            await expect(tab.locator("section.message .badge")).to_have_text("handled")

        audit = [row["action"] for row in live.store.db.query("SELECT action FROM audit")]
        assert "play_recording" in audit and "mark_handled" in audit
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "receptionist.cli", "messages", "show", str(message_id),
            "--db", str(live.app.settings.database), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0
        assert f"Message #{message_id} for {SLUG} (handled" in out.decode()


async def test_the_live_view_follows_answer_and_hang_up(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.5), "Hello, Example Dental.")])
    async with (
        receptionist(sandbox, tmp_path, script) as live,
        EventWatcher(ari, "test-caller") as watcher,
        AudioSocketPeer() as ear,
        web_page(live) as (tab, _),
    ):
        await tab.goto(tab.url.replace("/inbox", "/live"))
        await expect(tab.locator("#live-status")).to_have_text("0 calls in progress")
        row = tab.locator("#live-calls tr")
        # Waiting starts before the call is placed; the clock reads when the row is seen.
        seen = asyncio.create_task(_when(expect(row).to_have_count(1, timeout=10_000)))
        call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        shown_after = await seen - call.answered_at
        await expect(row).to_contain_text("+15550001111")
        await expect(row).to_contain_text("Example Dental Office")
        await shoot(tab, "live-desktop")
        await tab.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await shoot(tab, "live-phone")

        hung_up = time.monotonic()
        await ari.hangup(call.dialplan_id)
        dropped_after = await _when(expect(row).to_have_count(0, timeout=10_000)) - hung_up
        report["live_view_shown_after_answer_s"] = round(max(0.0, shown_after), 3)
        report["live_view_dropped_after_hangup_s"] = round(dropped_after, 3)
        # The promise is 1 s; the bound asserted is that, on a busy 2-core machine too.
        assert shown_after < 1.0 and dropped_after < 1.0, (shown_after, dropped_after)


async def _when(done: object) -> float:
    await done  # type: ignore[misc]
    return time.monotonic()


def _seconds(clock: str) -> int:
    minutes, seconds = clock.split(":")
    return int(minutes) * 60 + int(seconds)
