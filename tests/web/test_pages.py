"""The web page in a real browser (Debian's headless Chromium): sign in, the inbox and its
actions, search and filters, a call's page, phone width and keyboard use."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from receptionist.delivery.outbox import Attempt
from receptionist.store.handoffs import add_handoff, set_result
from receptionist.store.log import Store
from tests.browser import (
    DESKTOP,
    PHONE,
    SMALL_TARGETS,
    UNLABELLED_CONTROLS,
    chromium,
    shoot,
    sign_in,
)
from tests.unit.delivery_helpers import deliver
from tests.web_site import PASSWORD, Site, make_site, serving


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
async def page(site: Site) -> AsyncIterator[tuple[Page, str]]:
    async with serving(site.settings, site.businesses) as base, chromium() as browser:
        context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        yield await context.new_page(), base


async def test_inbox_actions_search_and_filters(page: tuple[Page, str], site: Site) -> None:
    tab, base = page
    await sign_in(tab, base, "admin", PASSWORD, "/inbox")
    messages = tab.locator("li.message")
    await expect(messages).to_have_count(2)
    # Newest first: plumbing's message came a minute after dental's.
    await expect(messages.first.locator("h2")).to_have_text("Caller of plumbing")
    await expect(tab.locator("nav .count")).to_have_text("2")
    await expect(messages.first.locator("a.tel")).to_have_attribute("href", "tel:+15552345678")
    # The department the caller was being put through to when they left the message.
    await expect(messages.first.locator(".meta")).to_contain_text("Example Plumbing, Billing")
    assert await tab.evaluate(UNLABELLED_CONTROLS) == []
    assert await tab.evaluate(SMALL_TARGETS) == []  # the Note toggle was 23 px high

    first = messages.first
    # Only users who may see the message's business are offered (staff-a: dental only).
    options = first.get_by_label("Assign to").locator("option")
    await expect(options).to_have_text(["Nobody", "admin"])
    await first.get_by_label("Assign to").select_option("admin")
    await first.get_by_role("button", name="Assign").click()
    await first.locator("summary").click()
    await first.get_by_label("Note for the team").fill("Called back, left a voicemail")
    await first.get_by_role("button", name="Save note").click()
    await expect(tab.locator("li.message").first.locator(".note")).to_contain_text("voicemail")
    await tab.locator("li.message").first.get_by_role("button", name="Mark handled").click()
    await expect(tab.locator("li.message")).to_have_count(1)  # the inbox shows new ones
    await expect(tab.locator("nav .count")).to_have_text("1")
    message = Store(site.database).get_message(site.messages["plumbing"])
    assert message is not None and message.status == "handled"

    await tab.get_by_label("Status").select_option("all")
    await tab.get_by_label("Search").fill("plumbing")
    await tab.get_by_role("button", name="Filter").click()
    await expect(tab.locator("li.message")).to_have_count(1)
    await expect(tab.locator("li.message .meta")).to_contain_text("Assigned to admin")
    await tab.locator("li.message").get_by_role("button", name="Reopen").click()
    await expect(tab.locator("li.message .badge")).to_have_text("new")
    await tab.get_by_label("Search").fill("nothing like this")
    await tab.get_by_role("button", name="Filter").click()
    await expect(tab.get_by_text("No messages here.")).to_be_visible()
    await tab.goto(base + "/inbox?business=dental&status=all")
    await expect(tab.locator("li.message h2")).to_have_text(["Caller of dental"])


async def test_call_page_and_keyboard_and_phone_width(page: tuple[Page, str], site: Site) -> None:
    tab, base = page
    store = Store(site.database)
    # Names from config are text on the page, never markup.
    add_handoff(store, "call-a", "transfer", "Billing <b>&co", "PJSIP/201")
    set_result(store, "call-a", "transfer", "missed")
    add_handoff(store, "call-a", "voicemail", "Front desk", "100@default")
    failed = Attempt("failed", 550, "SMTP 550: no such mailbox")
    deliver(store, "call-a", "message.taken", {"crm": [Attempt("sent", 200)], "email": [failed]})
    store.close()
    await sign_in(tab, base, "staff-a", PASSWORD, "/calls")
    await expect(tab.locator("table.calls tbody tr")).to_have_count(1)
    await tab.locator("table.calls a").first.click()
    await expect(tab.locator("h1")).to_contain_text("+15550001111")
    turns = tab.locator("ol.transcript li")
    await expect(turns).to_have_count(4)
    await expect(turns.nth(0)).to_contain_text("Receptionist")
    await expect(turns.nth(1)).to_contain_text("Caller")
    await expect(turns.nth(2)).to_contain_text("Transfer to Billing")
    await expect(turns.nth(3)).to_contain_text("Message saved")
    await expect(tab.locator("ul.handoffs li")).to_have_text([
        "transfer to Billing <b>&co (PJSIP/201): missed",
        "voicemail for Front desk (100@default): unknown",
    ])  # fmt: skip
    await expect(tab.locator("ul.handoffs b")).to_have_count(0)
    await expect(tab.locator("ul.notifications li")).to_have_text([
        "message.taken to crm: sent",
        "message.taken to email: failed after 1 attempt: SMTP 550: no such mailbox",
        "call.ended: queued",  # the worker has not prepared the call's end yet
    ])  # fmt: skip
    duration = await tab.locator("audio").evaluate(
        "a => new Promise(ok => a.readyState >= 1 ? ok(a.duration) :"
        " a.addEventListener('loadedmetadata', () => ok(a.duration)))"
    )
    with wave.open(str(site.recordings / "call-call-a.wav")) as wav:
        assert duration == pytest.approx(wav.getnframes() / wav.getframerate(), abs=0.05)

    # Keyboard: the first Tab reaches the skip link, which leads to the content.
    await tab.keyboard.press("Tab")
    await expect(tab.locator(".skip")).to_be_focused()

    await tab.set_viewport_size(PHONE)  # type: ignore[arg-type]
    width = await tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the call page scrolls sideways at phone width"
    await shoot(tab, "call-page-phone-sample")


async def test_bookings_show_when_a_calendar_is_configured(tmp_path: Path) -> None:
    plain = make_site(tmp_path / "plain")
    site = make_site(tmp_path / "booked", calendar=True)
    store = Store(site.database)
    start = datetime(2030, 5, 6, 14, 0, tzinfo=UTC)
    for business, name in (("dental", "Ann Lee"), ("plumbing", "Bo Park")):
        store.add_booking(f"call-{business[0]}", business, name, "+15552345678", start,
                          start + timedelta(minutes=30), "event-1")  # fmt: skip
    async with chromium() as browser:
        tab = await browser.new_page()
        tab.set_default_timeout(10_000)
        async with serving(plain.settings, plain.businesses) as base:
            await sign_in(tab, base, "admin", PASSWORD, "/inbox")
            await expect(tab.get_by_role("link", name="Bookings")).to_have_count(0)
            assert (await tab.goto(base + "/bookings")) and tab.url.endswith("/bookings")
            await expect(tab.locator("body")).to_contain_text("Not Found")
        async with serving(site.settings, site.businesses) as base:
            await sign_in(tab, base, "staff-a", PASSWORD, "/inbox")
            await tab.get_by_role("link", name="Bookings").click()
            rows = tab.locator("tbody tr")
            # Only the business with a calendar, and only one the user may see.
            await expect(rows).to_have_count(1)
            await expect(rows).to_contain_text("Ann Lee")
            await expect(rows.locator("a.tel")).to_have_attribute("href", "tel:+15552345678")


async def test_the_week_page_draws_its_charts_and_fits_a_phone(
    page: tuple[Page, str], site: Site
) -> None:
    tab, base = page
    await sign_in(tab, base, "admin", PASSWORD, "/week")
    await expect(tab.locator("svg.chart")).to_have_count(5)
    await expect(tab.locator("svg.chart rect.bar")).not_to_have_count(0)
    # Each chart is named by its heading, with its numbers in a table beside it.
    for chart in ("per-day", "per-hour", "outcomes", "messages", "handle-time"):
        svg = tab.locator(f"section[aria-labelledby={chart}] svg")
        await expect(svg).to_have_attribute("aria-labelledby", chart)
        await expect(tab.locator(f"#{chart}-table")).to_be_visible()
    assert await tab.evaluate(UNLABELLED_CONTROLS) == []
    assert await tab.evaluate(SMALL_TARGETS) == []
    await shoot(tab, "week-desktop")
    await tab.set_viewport_size(PHONE)  # type: ignore[arg-type]
    width = await tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the week page scrolls sideways at phone width"
    await shoot(tab, "week-phone")


ASK = """
window.__asked = Number(sessionStorage.getItem("asked") || 0);
window.Notification = class {
  static permission = "default";
  static requestPermission() {
    sessionStorage.setItem("asked", String(++window.__asked));
    return Promise.resolve("default");  // the user closed the prompt without answering
  }
};
"""


async def test_desktop_notifications_are_asked_for_once(page: tuple[Page, str]) -> None:
    tab, base = page
    await tab.add_init_script(ASK)
    await sign_in(tab, base, "staff-a", PASSWORD, "/inbox")
    button = tab.get_by_role("button", name="Turn on desktop notifications")
    await button.click()
    await expect(button).to_be_hidden()
    await tab.reload()
    await expect(tab.get_by_label("Example Dental")).to_be_checked()  # staff-a's business
    await expect(button).to_be_hidden()  # asked once: not offered again
    assert await tab.evaluate("window.__asked") == 1
    # Following is kept in this browser.
    await tab.get_by_label("Example Dental").uncheck()
    await tab.reload()
    await expect(tab.get_by_label("Example Dental")).not_to_be_checked()
