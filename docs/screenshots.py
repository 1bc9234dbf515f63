"""Remake the README's viewer screenshots from the offline demo (needs /usr/bin/chromium and playwright).

Usage: python docs/screenshots.py   (writes docs/viewer-feed.png and docs/viewer-session.png)
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

with tempfile.TemporaryDirectory() as tmp:
    env = {**os.environ, "CLAUDE_MEM_DATA_DIR": tmp, "CLAUDE_MEM_VIEWER_PORT": "37799"}
    cli = [sys.executable, "-m", "claude_mem.cli"]
    subprocess.run([*cli, "demo", "--keep", tmp], env=env, check=True, capture_output=True)
    url = subprocess.run([*cli, "viewer", "--no-open"], env=env, check=True, capture_output=True,
                         text=True).stdout.splitlines()[0]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 640})
            page.goto(url)
            page.wait_for_selector("#feed .item")
            page.wait_for_selector(".status-list")
            page.screenshot(path=str(DOCS / "viewer-feed.png"))
            page.set_viewport_size({"width": 1000, "height": 760})
            page.goto(url.split("?")[0] + "session/1")
            page.screenshot(path=str(DOCS / "viewer-session.png"))
            browser.close()
    finally:
        subprocess.run([*cli, "worker", "stop"], env=env, capture_output=True)
        subprocess.run([*cli, "viewer", "--stop"], env=env, capture_output=True)
