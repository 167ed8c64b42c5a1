"""Headless Chromium (Debian's package) driven by Playwright, for the web page's tests.

Playwright never downloads a browser here: it is pointed at the system's chromium,
which `make test` installs when it is missing. Screenshots are kept as test artifacts
under build/screenshots/ (docs/screenshots/ holds copies of some of them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    raise RuntimeError("no chromium on PATH: `make test` installs it (apt-get install chromium)")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    args = ["--autoplay-policy=no-user-gesture-required"]  # the test plays a recording
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield browser
        finally:
            await browser.close()


async def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot kept as an artifact: build/screenshots/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, base: str, username: str, password: str, path: str = "/") -> None:
    await page.goto(base + path)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("nav[aria-label=Main]")


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML)"""

# WCAG 2.2 target size (minimum): controls at least 24 by 24 CSS pixels.
SMALL_TARGETS = """() => [...document.querySelectorAll('button, summary, select, input, textarea')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
  .filter(([_, r]) => r.width < 24 || r.height < 24)
  .map(([html, r]) => html + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))"""
