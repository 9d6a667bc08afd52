"""The pinned Playwright drives the machine's Chromium: the pairing is checked before any journey.

Playwright is pinned (requirements-dev.txt) to the release whose bundled Chromium has the same
major version as Debian bookworm's `chromium` when it was chosen; Debian follows Chromium's stable
channel, so the majors drift apart over time. Playwright talks to Chromium over the DevTools
protocol, which stays compatible across nearby majors; this test is what says whether it still
works, and it writes both versions to test-artifacts/browser/versions.txt.
"""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.browser.conftest import ARTIFACTS, PHONE


def _bundled_chromium() -> str:
    """The Chromium version this Playwright release was built and tested against."""
    import playwright

    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    return next(b["browserVersion"] for b in json.loads(browsers.read_text())["browsers"] if b["name"] == "chromium")


def test_playwright_drives_the_machine_chromium(browser: Any, chromium_executable: str, shots: Any) -> None:
    version = browser.version
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "versions.txt").write_text(
        f"chromium {version} ({chromium_executable})\nplaywright {metadata.version('playwright')} "
        f"(built for chromium {_bundled_chromium()})\n")
    assert int(version.split(".")[0]) >= 100, version

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_content('<meta name="viewport" content="width=device-width, initial-scale=1"><main><h1>Kho học liệu số — Tiếng Việt</h1><input id="q" aria-label="Từ khoá">'
                     '<button onclick="document.getElementById(\'out\').textContent = q.value">Tìm</button>'
                     '<p id="out"></p></main>')
    page.get_by_label("Từ khoá").fill("định lí Pythagore")
    page.get_by_role("button", name="Tìm").click()
    assert page.locator("#out").inner_text() == "định lí Pythagore"
    assert page.evaluate("[innerWidth, innerHeight]") == [390, 844]
    picture = shots(page, "pairing")
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 2000
    context.close()
