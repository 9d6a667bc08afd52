"""What people do in the app, written as a person does it: find the link or label on the page,
type, click, choose files. Each function takes a browser context (one person's browser) and the
`shots` camera, and screenshots every step it takes.

On a phone the navigation bar is collapsed behind the menu button; `open_menu` presses it when it
is visible, so the same steps run at both viewports.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.media import sha256
from tests.browser.province import Account

Shots = Callable[[Any, str], Path]
MATERIAL_PAGE = re.compile(r"/materials/\d+$")
# Upload speed while the teacher's files travel: slow enough that the progress bar has to move
# through many values for everyone, however fast the machine is (50 MB take > 1.5 s).
UPLOAD_BYTES_PER_SECOND = 32 * 1024 * 1024
# Records every value the upload progress bar shows, into the page's binding `reportProgress`.
PROGRESS_PROBE = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.querySelector("#upload-progress .progress");
  if (!bar) { return; }
  new MutationObserver(() => window.reportProgress(Number(bar.getAttribute("aria-valuenow"))))
    .observe(bar, {attributes: true, attributeFilter: ["aria-valuenow"]});
});
"""


@dataclass(frozen=True)
class Lesson:
    """What the teacher types into the upload form."""

    title: str
    description: str
    grade: str  # a code from data/ (the option's value), e.g. "8"
    grade_label: str  # what the page shows for it, e.g. "Lớp 8"
    topic: str
    subject_label: str = "Toán"
    type_label: str = "Video"  # "Loại học liệu" as the page shows it


def status_line(page: Any) -> Any:
    """The line under a material's title: school · author · state (material and review pages).

    Decisions are checked here rather than by their flash message, which a page with a video can
    lose: every signed-in response re-sends the session cookie (last_seen), so the answer to a
    video range request that started before the click can replace the cookie carrying the
    message."""
    return page.locator("main h1 + p.text-muted")


def open_menu(page: Any) -> None:
    """On a narrow screen the navigation sits behind the menu button: open it. (Before the
    stylesheets arrive the button shows at any width, so look only once the page has loaded.)"""
    page.wait_for_load_state("load")
    toggler = page.get_by_role("button", name="Mở menu")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        expect(page.locator("#nav")).to_be_visible()


def go_to(page: Any, link: str) -> None:
    open_menu(page)
    page.locator("#nav").get_by_role("link", name=link, exact=True).click()


def sign_in(context: Any, account: Account, shots: Shots) -> Any:
    page = context.new_page()
    page.goto("/")
    open_menu(page)
    page.locator("#nav").get_by_role("link", name="Đăng nhập").click()
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Mật khẩu").fill(account.password)
    shots(page, f"sign-in-{account.roles[0]}")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_text(f"Xin chào, {account.name}.")).to_be_visible()
    return page


# --- the teacher ----------------------------------------------------------------------------------

def upload_lesson(context: Any, teacher: Account, lesson: Lesson, files: list[Path], shots: Shots) -> tuple[str, list[int]]:
    """Fill the form, choose the files, save while watching the progress bar, then send it for
    review. Returns the material page's path and every value the progress bar showed."""
    progress: list[int] = []
    context.expose_function("reportProgress", lambda value: progress.append(int(value)))
    context.add_init_script(PROGRESS_PROBE)
    page = sign_in(context, teacher, shots)
    go_to(page, "Tải lên")
    _fill_metadata(page, lesson)
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Tệp (có thể chọn nhiều tệp)").click()
    chooser.value.set_files([str(f) for f in files])
    shots(page, "upload-form-filled")
    _throttle_uploads(context, page)
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_function("() => { const v = Number(document.querySelector('#upload-progress .progress')"
                           ".getAttribute('aria-valuenow')); return v >= 10 && v <= 90; }")
    shots(page, "uploading")
    return _send_for_review(page, lesson, shots), progress


def upload_small_lesson(context: Any, teacher: Account, lesson: Lesson, files: list[Path], shots: Shots) -> str:
    """`upload_lesson` for files small enough to travel at once (no progress bar to watch): sign
    in, fill the form, choose the files, save, send for review. Returns the material page's path."""
    page = sign_in(context, teacher, shots)
    go_to(page, "Tải lên")
    _fill_metadata(page, lesson)
    page.get_by_label("Tệp (có thể chọn nhiều tệp)").set_input_files([str(f) for f in files])
    shots(page, "upload-form-filled")
    page.get_by_role("button", name="Lưu").click()
    return _send_for_review(page, lesson, shots)


def _send_for_review(page: Any, lesson: Lesson, shots: Shots) -> str:
    """After "Lưu": wait for the saved draft's page, then send it for review; its path."""
    page.wait_for_url(MATERIAL_PAGE, timeout=120_000)
    expect(page.get_by_role("alert")).to_contain_text(f"Đã lưu học liệu «{lesson.title}» (bản nháp).")
    shots(page, "saved-as-draft")
    page.get_by_role("button", name="Gửi duyệt").click()
    expect(status_line(page)).to_contain_text("Đã gửi duyệt")
    shots(page, "sent-for-review")
    return urlsplit(page.url).path


def _fill_metadata(page: Any, lesson: Lesson) -> None:
    page.get_by_label("Tiêu đề").fill(lesson.title)
    page.get_by_label("Mô tả").fill(lesson.description)
    page.get_by_label("Môn học / lĩnh vực").select_option(label=lesson.subject_label)
    page.get_by_label("Lớp / nhóm tuổi").select_option(lesson.grade)
    page.get_by_label("Chủ đề / bài học").fill(lesson.topic)
    page.get_by_label("Loại học liệu").select_option(label=lesson.type_label)


def _throttle_uploads(context: Any, page: Any) -> None:
    """Limit this page's upload speed through the DevTools protocol, as a slow school line would."""
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": UPLOAD_BYTES_PER_SECOND})


# --- the reviewers --------------------------------------------------------------------------------

def decide(context: Any, reviewer: Account, title: str, button: str, new_state: str, shots: Shots) -> None:
    """Open the review queue, open the material, press the decision's button; the page then shows
    the material's new state."""
    page = sign_in(context, reviewer, shots)
    go_to(page, "Duyệt học liệu")
    expect(page.get_by_role("heading", name="Học liệu chờ tôi duyệt")).to_be_visible()
    shots(page, f"queue-{reviewer.roles[0]}")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=f"Duyệt: {title}")).to_be_visible()
    shots(page, f"review-page-{reviewer.roles[0]}")
    page.get_by_role("button", name=button, exact=True).click()
    expect(status_line(page)).to_contain_text(new_state)
    shots(page, f"decided-{reviewer.roles[0]}")


# --- the anonymous visitor ------------------------------------------------------------------------

def search_from_home(page: Any, words: str, shots: Shots) -> None:
    page.goto("/")
    open_menu(page)
    box = page.locator("#nav").get_by_role("searchbox", name="Tìm học liệu")
    box.fill(words)
    shots(page, "typed-search")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Tìm kiếm học liệu")).to_be_visible()


def hit_titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator(".search-hit h2").all_inner_texts()]


def filter_by(page: Any, label: str) -> None:
    page.locator(".search-facets a.facet-link", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).click()
    expect(page.locator(".search-facets a[aria-current='true']")).to_contain_text(label)


def download(page: Any, link: Any, folder: Path) -> tuple[str, str]:
    """Click a download link; the file's suggested name and the SHA-256 of what arrived."""
    with page.expect_download() as arrived:
        link.click()
    saved = folder / arrived.value.suggested_filename
    arrived.value.save_as(str(saved))
    return arrived.value.suggested_filename, sha256(saved)


# --- the reports ----------------------------------------------------------------------------------

def open_reports(page: Any) -> None:
    """The "Báo cáo" link: a school's staff land on their school's matrix, an officer on the unit."""
    go_to(page, "Báo cáo")
    expect(page.locator("#period-line")).to_be_visible()


def matrix_cell(page: Any, grade: str, subject: str) -> tuple[int, str]:
    """One cell of a school's coverage matrix: its count (materials counted in the school year) and
    its status word as the page marks it (met, partial, empty; none when not required)."""
    cell = page.locator(f"#matrix td[data-cell='{grade}:{subject}']")
    expect(cell).to_have_count(1)
    return int(cell.locator(".cell-count").inner_text()), str(cell.get_attribute("data-status"))


def fraction(page: Any, selector: str) -> tuple[int, int]:
    """A figure written "covered/required (share%)", e.g. "3/40 (7,5%)", as (3, 40)."""
    found = re.match(r"\s*(\d+)/(\d+)\b", page.locator(selector).inner_text())
    assert found, page.locator(selector).inner_text()
    return int(found.group(1)), int(found.group(2))
