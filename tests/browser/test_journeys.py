"""One material's whole life in real browsers, at a desktop and at a phone-sized viewport:
a teacher uploads a 50 MB video and a PDF (the progress bar moves), fills the metadata and sends
it for review; the school's reviewer and the department's reviewer approve it; a visitor who is
not signed in searches without diacritics, filters by grade, previews and downloads it.

Each person uses their own browser context (their own cookies). Screenshots of every step are in
test-artifacts/browser/test_material_journey_<viewport>/.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from playwright.sync_api import expect

from tests.browser import province, steps
from tests.browser.conftest import DESKTOP, PHONE, LessonFiles
from tests.browser.media import sha256
from tests.browser.steps import Lesson

LESSONS = {
    "desktop": Lesson("Định lí Pythagore và ứng dụng", "Video bài giảng và phiếu bài tập về định lí Pythagore.",
                      "8", "Lớp 8", "Định lí Pythagore"),
    "phone": Lesson("Định lí Pythagore đảo trong đời sống", "Video bài giảng định lí Pythagore đảo, kèm phiếu bài tập.",
                    "7", "Lớp 7", "Định lí Pythagore đảo"),
}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_material_journey(viewport: str, new_context: Any, lesson_files: Callable[[int], LessonFiles],
                          shots: Any, tmp_path: Path) -> None:
    device = DESKTOP if viewport == "desktop" else PHONE
    lesson = LESSONS[viewport]
    files = lesson_files(list(LESSONS).index(viewport))
    accounts = province.ACCOUNTS

    path, progress = steps.upload_lesson(new_context(device), accounts["teacher"], lesson, [files.video, files.pdf],
                                         shots)
    _assert_progress_moved(progress)

    steps.decide(new_context(device), accounts["school_reviewer"], lesson.title, "Duyệt cấp trường",
                 "Trường đã duyệt", shots)
    steps.decide(new_context(device), accounts["dept_reviewer"], lesson.title, "Công bố", "Đã công bố", shots)

    visitor = new_context(device).new_page()
    _search_and_filter(visitor, lesson, shots)
    visitor.get_by_role("link", name=lesson.title).click()
    assert visitor.url.endswith(path)
    _preview(visitor, shots)
    _download(visitor, files, tmp_path, shots)


def _assert_progress_moved(progress: list[int]) -> None:
    """The bar went up step by step to 100, through many values in between."""
    assert progress, "the progress bar never changed"
    assert progress == sorted(progress), progress
    assert progress[-1] == 100, progress
    assert len({p for p in progress if 0 < p < 100}) >= 5, progress


def _search_and_filter(page: Any, lesson: Lesson, shots: Any) -> None:
    steps.search_from_home(page, province.SEARCH_PHRASE, shots)
    expect(page.locator(".search-hit").first).to_be_visible()
    titles = steps.hit_titles(page)
    assert lesson.title in titles and province.DISTRACTOR_TITLE in titles, titles
    shots(page, "search-results")
    steps.filter_by(page, lesson.grade_label)
    expect(page.locator(".search-hit", has_text=province.DISTRACTOR_TITLE)).to_have_count(0)
    titles = steps.hit_titles(page)
    assert lesson.title in titles, titles
    for hit in page.locator(".search-hit div.text-muted").all_inner_texts():
        assert lesson.grade_label in hit, hit
    shots(page, "filtered-by-grade")


def _preview(page: Any, shots: Any) -> None:
    """The video plays in the page (its first frame and length came from the server) and the PDF
    is shown in its frame."""
    video = page.locator("video")
    expect(video).to_be_visible()
    page.wait_for_function("() => { const v = document.querySelector('video'); return v.readyState >= 2; }",
                           timeout=30_000)
    assert 5 <= video.evaluate("v => v.duration") <= 30
    frame = page.locator("iframe.preview-frame")
    expect(frame).to_be_visible()
    pdf = page.request.get(frame.get_attribute("src"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    assert pdf.headers["content-disposition"].startswith("inline")
    video.scroll_into_view_if_needed()
    shots(page, "preview")


def _download(page: Any, files: LessonFiles, folder: Path, shots: Any) -> None:
    links = page.get_by_role("link", name="Tải về", exact=True)
    expect(links).to_have_count(2)
    got = dict(steps.download(page, links.nth(i), folder) for i in range(2))
    assert got == {files.video.name: sha256(files.video), files.pdf.name: sha256(files.pdf)}
    page.reload()
    expect(page.get_by_text("2 lượt tải")).to_be_visible()
    shots(page, "downloaded")
