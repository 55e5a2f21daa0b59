"""The browser page against a real server: Debian's Chromium under Playwright, its fake
microphone playing examples/qa.wav. The page connects, your words appear in the transcript,
the model's audio is played and the timeline draws.

`MICROTURN_SCREENSHOT=docs/serve-page.png pytest tests/test_serve_page.py` also writes the
README's screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright")

from microturn.serve.server import Background, ServerConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server():
    from microturn.runtime.runner import load_model

    model = load_model(ROOT / "checkpoints" / "small")
    with Background(model, ServerConfig(port=0, max_sessions=2)) as s:
        yield s


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (scripts/setup.sh installs it)")
def test_the_page_talks_to_the_model(server, tmp_path):
    from playwright.sync_api import sync_playwright

    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={ROOT / 'examples' / 'qa.wav'}",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
            page = ctx.new_page()  # bypass_csp: the page allows no eval, the test reads it
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{server.port}/")
            page.check("#camera")  # Chromium's fake camera: frames go out at 5 fps
            page.click("#connect")
            page.wait_for_function("window.microturn.stats.userWords >= 3", timeout=60_000)
            page.wait_for_function("window.microturn.stats.loud > 2400", timeout=90_000)
            stats = page.evaluate("window.microturn.stats")
            you = page.inner_text("#transcript")
            assert "you" in you and "model" in you, you
            assert stats["ticks"] > 10 and stats["draws"] > 10
            assert stats["audioChunks"] > 0 and stats["played"] > 0
            assert not stats["errors"] and not errors, (stats["errors"], errors)
            # the timeline holds ink beyond its white background
            inked = page.evaluate(
                """() => { const c = document.getElementById('timeline');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 250) n++; return n; }"""
            )
            assert inked > 500
            shot = os.environ.get("MICROTURN_SCREENSHOT") or str(tmp_path / "page.png")
            page.wait_for_timeout(1500)
            page.screenshot(path=shot)
            page.click("#stop")
        finally:
            browser.close()
