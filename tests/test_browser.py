"""The digest page in a real headless Chromium (Debian's `chromium`, driven by playwright; no browser download).

Screenshots go to DIGEST_TEST_SCREENSHOT_DIR (the test's tmp dir when unset):
  DIGEST_TEST_SCREENSHOT_DIR=shots ./dev test tests/test_browser.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect, sync_playwright

from bot.web import create_app
from digest.models import Digest
from digest.sections import SECTION_BY_KEY
from tests.archive_days import DEMO_DAY, archive, archive_settings, close_store, load_digest, store_for
from tests.fakes.base import ServerThread

__all__ = ["archive"]  # the shared fixture, imported so pytest finds it here

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What the page's thumbnails get instead of the Hugging Face CDN, which a test must not reach.
PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 648">'
    b'<rect width="1200" height="648" fill="#9aa3b5"/></svg>'
)
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "color_scheme": "dark"},
    "desktop": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
}
BACKGROUND = {"dark": "rgb(21, 23, 27)", "light": "rgb(251, 251, 250)"}  # --bg in archive.css


def chromium_path() -> str | None:
    for candidate in (os.environ.get("DIGEST_TEST_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def demo(archive: Path) -> Digest:
    """The stored demo day, read before the browser starts (playwright's sync API keeps an event loop running)."""
    return load_digest(archive)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing on CI: .ci/run should have installed Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it via .ci/run")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DIGEST_TEST_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watch:
    """Everything a page reports that would mean it is broken: console errors, script errors, outside requests."""

    def __init__(self, page: Page, local: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.local = local
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.route("**/*", self.route)

    def route(self, route: Route, request: Request) -> None:
        if request.url.startswith(self.local + "/"):
            route.continue_()
            return
        self.outside.append(request.url)
        if request.resource_type == "image":
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)
        else:
            route.abort()


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_digest_page_in_chromium(
    demo: Digest, browser: Browser, archive: Path, screenshot_dir: Path, width: str
) -> None:
    digest = demo
    settings = archive_settings(archive)
    options = VIEWPORTS[width]
    store = store_for(settings)
    with ServerThread(create_app(settings, store)) as server:
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            watch = Watch(page, server.url)
            response = page.goto(f"{server.url}/d/{DEMO_DAY.isoformat()}", wait_until="load")
            assert response is not None and response.status == 200

            for item in digest.items:
                title = page.locator(f'[id="{item.rank}"] h2 a:not(.rank)')
                expect(title).to_have_text(item.paper.title)
                expect(title).to_be_visible()
            risks = page.locator('[id="3-risks"]')
            expect(risks).to_be_visible()
            expect(risks.locator("h3")).to_have_text(SECTION_BY_KEY["risks"].heading("ko"))
            expect(risks.locator("li")).to_have_text(digest.items[2].brief.risks)

            # The stylesheet loaded under the CSP: Korean line breaking, the colour scheme, no sideways scroll.
            style = page.evaluate(
                "() => { const s = getComputedStyle(document.body);"
                " return {wordBreak: s.wordBreak, background: s.backgroundColor,"
                " overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth}; }"
            )
            assert style["wordBreak"] == "keep-all"
            assert style["background"] == BACKGROUND[options["color_scheme"]]
            assert style["overflow"] <= 0, f"{style['overflow']}px wider than the {width} screen"

            shot = screenshot_dir / f"digest-{DEMO_DAY.isoformat()}-{width}-{options['color_scheme']}.png"
            if width == "phone":
                # The permalink of a paper's section scrolls to it: what a "전체 보기" link opens on a phone.
                page.goto(f"{server.url}/d/{DEMO_DAY.isoformat()}#3", wait_until="load")
                expect(page.locator('[id="3"]')).to_be_in_viewport()
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 0

            assert watch.errors == [], watch.errors
            thumbnails = {item.paper.thumbnail for item in digest.items}
            assert set(watch.outside) <= thumbnails, "the page asked for something other than a thumbnail elsewhere"
        finally:
            context.close()
    close_store(store)
