"""The open inbox follows the call log live, in Debian's headless Chromium: a message a
caller leaves through the sandbox appears in a tab that was already open, with the
unread count, without a reload, and a desktop notification; a colleague marking it
handled in another browser updates the first tab too."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
from receptionist.store.users import Users
from tests.browser import DESKTOP, chromium, shoot, sign_in
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import AudioSocketPeer, EventWatcher, place_call
from tests.integration.live import SLUG, Live, function_outputs, has_tone, receptionist
from tests.web_site import PASSWORD, serving

pytestmark = pytest.mark.integration

MESSAGE = {"caller_name": "Jane Roe", "callback_number": "(555) 234-5678",
           "message": "Please call me about my crown."}  # fmt: skip

# Set before anything happens: still there afterwards means the page never reloaded.
# Each new message item is stamped with the wall time (ms) it appeared, and every
# desktop notification is kept, so the test reads what the page did and when.
WATCH = """
window.__sameDocument = true;
window.__notes = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push([title, options.body]); }
};
window.__seen = {};
new MutationObserver(() => document.querySelectorAll("li.message").forEach(li => {
  if (!(li.id in window.__seen)) window.__seen[li.id] = Date.now();
})).observe(document, {childList: true, subtree: true});
"""


@contextlib.asynccontextmanager
async def two_staff(live: Live) -> AsyncIterator[tuple[Page, Page]]:
    """Two colleagues of the test business, each with the inbox open in their browser."""
    users = Users(live.store.sql)
    users.add("frontdesk", PASSWORD, "staff", [SLUG])
    users.add("backoffice", PASSWORD, "staff", [SLUG])
    settings, businesses = live.app.settings, live.app.businesses
    async with serving(settings, businesses, lambda: live.app.calls) as base, chromium() as b:
        tabs = []
        for name in ("frontdesk", "backoffice"):
            context: BrowserContext = await b.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
            context.set_default_timeout(15_000)
            tab = await context.new_page()
            await sign_in(tab, base, name, PASSWORD, "/inbox")
            tabs.append(tab)
        yield tabs[0], tabs[1]


async def test_a_message_reaches_an_open_inbox_live_and_a_colleague_s_change_follows(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    script = Script(
        replies=[
            Reply(tone24(600, 0.6), "Example Dental, how can I help?"),
            Reply(tone24(1000, 0.6), "I'll pass that on.",
                  calls=(ToolCall("take_message", MESSAGE),)),
        ],
        caller_transcripts=["Can someone call me back about my crown?"],
    )  # fmt: skip
    async with (
        receptionist(sandbox, tmp_path, script) as live,
        EventWatcher(ari, "test-caller") as watcher,
        AudioSocketPeer() as ear,
        two_staff(live) as (mine, colleague),
    ):
        await mine.add_init_script(WATCH)
        await mine.reload()  # the watch in place; from here on the page must not reload
        await expect(mine.get_by_text("No messages here.")).to_be_visible()
        await expect(mine.locator("#unread-count")).to_be_hidden()
        # Follow the business and allow notifications, as a user would once.
        await expect(mine.get_by_label("Example Dental Office")).to_be_checked()

        call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        assert call.peer is not None
        await call.peer.wait_frames(has_tone(600), 30)
        await call.peer.wait_quiet()
        await call.peer.send_paced(tone(440, 1200))
        await call.peer.send_paced(bytes(16000 * 2))
        [(name, output)] = await function_outputs(live, 1)
        assert name == "take_message" and output.startswith("Saved message")

        top = mine.locator("li.message").first
        await expect(top.locator("h2")).to_have_text("Jane Roe")
        await expect(mine.locator("#unread-count")).to_have_text("1")
        await expect(mine.locator("#unread-title")).to_have_text("1 new")
        assert await mine.evaluate("window.__sameDocument") is True
        [message] = live.store.list_messages()
        seen_ms = await mine.evaluate(f"window.__seen['message-{message.id}']")
        shown_after = seen_ms / 1000 - message.created_at.timestamp()
        report["inbox_message_shown_after_take_message_s"] = round(shown_after, 3)
        notes = await mine.evaluate("window.__notes")
        assert notes == [["New message: Example Dental Office", "Jane Roe"]]
        await shoot(mine, "inbox-live-new-message")

        # The colleague, whose page was also open, marks it handled.
        theirs = colleague.locator(f"#message-{message.id}")
        await theirs.get_by_role("button", name="Mark handled").click()
        await expect(mine.get_by_text("No messages here.")).to_be_visible()
        await expect(mine.locator("#unread-count")).to_be_hidden()
        await expect(mine.locator("#unread-title")).to_have_text("0 new")
        assert await mine.evaluate("window.__sameDocument") is True
        await ari.hangup(call.dialplan_id)
    handled = live.store.get_message(message.id)
    assert handled is not None and handled.status == "handled"
