"""Real-browser tests: Playwright drives the machine's own Chromium (Debian's `chromium` package;
Playwright never downloads a browser) against the app served by its production server (gunicorn,
`python -m repository.serve`) on 127.0.0.1, on a temporary SQLite database seeded by province.py.

Without Chromium these tests are skipped with a message, unless REQUIRE_BROWSER=1 (CI), which
makes a missing browser a failure, as REQUIRE_POSTGRES=1 does for PostgreSQL. CHROMIUM_PATH names
another executable. Every step's screenshot is kept under test-artifacts/browser/<test>/, and the
server's log beside them in server.log.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser.media import ffmpeg_path, make_pdf, make_video
from tests.browser.server import PROJECT_DIR, LiveServer, serve

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "browser"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
NO_CHROMIUM = "Chromium không có trên máy này — cài gói chromium để chạy các kiểm thử trình duyệt"
# Quiet on a closed network: no component updates, sync, metrics or first-run pages.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps", "--metrics-recording-only",
                 "--disable-dev-shm-usage"]  # a container's small /dev/shm must not crash a tab
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
LOCAL_HOSTS = {"127.0.0.1"}
# Chromium's own pages (its PDF viewer is chrome-extension://, chrome://) never reach the network.
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def _unavailable(message: str) -> None:
    """Skip, or fail when the run requires the browser tests (REQUIRE_BROWSER=1)."""
    if REQUIRE_BROWSER:
        pytest.fail(f"{message} (REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message)


def find_chromium() -> str | None:
    """CHROMIUM_PATH when set (and executable), else `chromium` or `chromium-browser` on PATH."""
    configured = os.environ.get("CHROMIUM_PATH", "")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = find_chromium()
    if path is None:
        _unavailable(NO_CHROMIUM)
    return str(path)


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # Pages wait on the server (a 50 MB upload is processed before its answer): allow for a busy CI.
    expect.set_options(timeout=20_000)

    with sync_playwright() as playwright:
        # executable_path: the machine's Chromium; Playwright's own browser builds are never used.
        launched = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# --- the app, served for real ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_server(chromium_executable: str) -> Iterator[LiveServer]:
    """gunicorn serving the seeded app on a free port of 127.0.0.1 for the whole session (started
    only when there is a browser to use it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(ARTIFACTS / "server.log") as server:
        yield server


# --- files a teacher uploads ----------------------------------------------------------------------

@dataclass(frozen=True)
class LessonFiles:
    video: Path
    pdf: Path


@pytest.fixture(scope="session")
def lesson_files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], LessonFiles]:
    """`lesson_files(n)`: the n-th teacher's 50 MB MP4 and PDF, made once per session; different n
    give different bytes, so one journey's upload is never a duplicate of another's."""
    if ffmpeg_path() is None:
        _unavailable("ffmpeg không có trên máy này — cài gói ffmpeg để tạo video 50 MB cho kiểm thử tải lên")
    made: dict[int, LessonFiles] = {}

    def files(n: int) -> LessonFiles:
        if n not in made:
            folder = tmp_path_factory.mktemp(f"lesson{n}")
            made[n] = LessonFiles(make_video(folder / "Bài giảng định lí Pythagore.mp4", seed=n + 1),
                                  make_pdf(folder / "Phiếu bài tập định lí Pythagore.pdf", f"Phieu so {n}"))
        return made[n]

    return files


# --- browser contexts, request recording and screenshots ------------------------------------------

@dataclass
class Shots:
    """Numbered full-page screenshots of one test, in test-artifacts/browser/<test>/."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


@dataclass
class Requests:
    """Every URL the test's pages asked for; the app must never send a browser elsewhere."""

    urls: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).scheme in NETWORK_SCHEMES and urlsplit(u).hostname not in LOCAL_HOSTS]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is None or report.failed


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer, shots: Shots,
                request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (one per person) on the live server; after the test, every request any
    of them made must have gone to 127.0.0.1. When the test failed, every open page is
    photographed as it was (failure-*.png)."""
    contexts: list[Any] = []
    seen = Requests()

    def open_context(device: dict[str, Any] | None = None) -> Any:
        context = browser.new_context(base_url=live_server.url, locale="vi-VN", accept_downloads=True,
                                      **(device or DESKTOP))
        context.set_default_timeout(20_000)
        context.on("request", lambda req: seen.urls.append(req.url))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        if _failed(request):
            for page in context.pages:
                shots(page, "failure")
        context.close()
    assert not seen.outside(), f"requests left 127.0.0.1: {seen.outside()[:10]}"
