"""The viewer in a real browser: Debian's headless Chromium driven by Playwright.

Memory is made by real hook processes and the real worker while the page is open; the
page must show it without a reload. Screenshots go to ``test-artifacts/`` (gitignored).
Skipped, with the reason, where ``/usr/bin/chromium`` or the ``playwright`` package is missing.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from claude_mem import control
from claude_mem.models import OBSERVATION_TYPES
from helpers import run_hook, wait_until_drained
from viewer_kit import bash_event, start_viewer, stop_viewer, viewer  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 30_000  # how long the page may take to show something (a loaded 2-core machine)

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                               "(pip install -e '.[test]')")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 850})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_memory_made_after_the_page_opened_appears_live_and_is_found(viewer, page, recorded):
    page.goto(viewer.url)
    page.wait_for_selector("#feed .item")
    assert "token=" not in page.url  # traded for the cookie
    page.wait_for_selector("#live.on")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    run_hook("PostToolUse", bash_event(recorded, "make wombat-live-check", "wombat ready",
                                       "toolu_browser_live"))
    item = page.locator("#feed .item", has_text="wombat-live-check")
    item.wait_for()
    assert page.evaluate("window.sameDocument") is True
    assert item.locator(".mark").inner_text().lower() in OBSERVATION_TYPES  # its type mark
    assert page.locator("#feed .session").count() == 1
    shot(page, "feed")

    # Pause holds new items back until resumed.
    page.keyboard.press("p")
    run_hook("PostToolUse", bash_event(recorded, "make numbat-held", "numbat", "toolu_browser_held"))
    page.wait_for_selector("#live:has-text('1 new')")
    assert page.locator("#feed .item", has_text="numbat-held").count() == 0
    page.click("#pause")
    page.locator("#feed .item", has_text="numbat-held").wait_for()

    # Search finds it and highlights the match; its link leads to the observation.
    page.keyboard.press("/")
    page.keyboard.type("wombat")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=wombat*")
    marked = page.locator(".hit mark")
    marked.first.wait_for()
    assert marked.first.inner_text().lower() == "wombat"
    shot(page, "search")
    page.locator(".hit a", has_text="wombat-live-check").click()
    page.wait_for_url("**/obs/*")
    assert "wombat-live-check" in page.locator("h1").inner_text()

    # The session page lists it in order: after everything stored before it, in its prompt.
    page.locator(".neighbours a", has_text="the whole session").click()
    page.wait_for_url("**/session/*")
    titles = page.locator("#prompt-1 .observations li").all_inner_texts()
    assert "wombat-live-check" in titles[-2] and "numbat-held" in titles[-1]
    ids = [int(t.split("#", 1)[1].split()[0]) for t in titles]
    assert ids == sorted(ids)
    shot(page, "session")
    wait_until_drained()


def test_status_panel_shows_the_queue_grow_and_drain(viewer, page, recorded):
    page.goto(viewer.url)
    queue = page.locator("#status-queue")
    queue.wait_for()
    assert queue.inner_text().startswith("0 pending")
    worker = control.read_pid()
    assert worker and control.is_alive(worker)
    os.kill(worker, signal.SIGSTOP)  # the worker holds still, so the queue can only grow
    try:
        for n in range(3):
            run_hook("PostToolUse", bash_event(recorded, f"make queued-{n}", "ok", f"toolu_queue_{n}"))
        page.wait_for_selector("#status-queue:has-text('3 pending')")
        shot(page, "status-queue-grown")
    finally:
        os.kill(worker, signal.SIGCONT)
    page.wait_for_selector("#status-queue:has-text('0 pending')")
    page.locator("#feed .item", has_text="queued-2").wait_for()
    assert page.locator("#status-worker").inner_text().startswith("running")


def test_a_browser_without_the_key_is_refused(viewer, page):
    response = page.goto(viewer.base + "/")
    assert response.status == 401
    assert "No access" in page.inner_text("h1")
    assert page.locator("#feed").count() == 0
    response = page.goto(viewer.base + "/api/search?q=pytest")
    assert response.status == 401 and "pytest" not in page.content().split("no access", 1)[0]
    shot(page, "refused")


def test_narrow_and_dark_pages_stay_readable(viewer, browser):
    context = browser.new_context(viewport={"width": 420, "height": 900}, color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(viewer.url)
        page.wait_for_selector("#feed .item")
        # Nothing wider than the window: no sideways scrolling at 420 px.
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(251, 251, 250)"  # the dark palette, from the system setting
        shot(page, "feed-420-dark")
        page.goto(viewer.base + "/session/1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        shot(page, "session-420-dark")
    finally:
        context.close()


def test_a_setting_changed_on_the_page_reaches_the_cli(viewer, page):
    from claude_mem import config
    from claude_mem.viewer import routes

    if not routes.settings_editable():
        pytest.skip("config.set_value (the CLI's settings schema) is not in this tree yet")
    page.goto(viewer.url)
    page.goto(viewer.base + "/settings")
    row = page.locator("#setting-context_tokens")
    row.locator("input[name=value]").fill("1800")
    row.locator("button[value=set]").click()
    page.wait_for_url("**/settings?saved=context_tokens*")
    assert "context_tokens saved" in page.inner_text("main")
    assert config.load().context_tokens == 1800
    shot(page, "settings")
