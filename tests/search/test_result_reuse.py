"""Serving search answers across index changes for a bounded time (SEARCH_RESULT_MAX_AGE,
SEARCH_PAGE_MAX_AGE), and searching on while another process commits to the index.

The clocks of search.service and repository.views.search are replaced, so no assertion depends on
how fast the test runs.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from repository.services import search
from repository.views import search as search_views
from search import pool as search_pool
from search import service as search_service
from search import service_index
from search.index import IndexMissing
from tests.helpers import sign_in
from tests.search.materials import add_material

MAX_AGE = 30.0


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"SEARCH_RESULT_MAX_AGE": str(MAX_AGE), "SEARCH_PAGE_MAX_AGE": str(MAX_AGE)}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """now[0] is the time both caches see."""
    now = [1000.0]
    monkeypatch.setattr(search_service, "_clock", lambda: now[0])
    monkeypatch.setattr(search_views, "_clock", lambda: now[0])
    return now


def total(q: str) -> int:
    return search.search(None, search.parse(MultiDict({"q": q}))).total


def test_a_result_outlives_index_changes_for_at_most_max_age(app, world, clock):
    add_material(world["teacher2"], "Hình học không gian")
    assert total("hinh hoc") == 1
    add_material(world["teacher2"], "Hình học phẳng")  # applied at once: a new index generation

    clock[0] += MAX_AGE - 1
    assert total("hinh hoc") == 1  # the answer computed before the change, still young enough
    assert total("phang") == 1  # a question not asked before sees the change
    clock[0] += 2
    assert total("hinh hoc") == 2
    hits = service_index().cache_hits
    clock[0] += 10 * MAX_AGE
    assert total("hinh hoc") == 2 and service_index().cache_hits == hits + 1  # no change: still exact


def test_anonymous_results_pages_are_shared_for_at_most_max_age(app, world, clock):
    # (The query's words are highlighted in the titles; the other words show as typed.)
    add_material(world["teacher2"], "Hình học không gian")
    visitor, other, teacher = app.test_client(), app.test_client(), app.test_client()
    first = visitor.get("/search?q=hinh+hoc")
    assert first.status_code == 200 and "phẳng" not in first.text
    add_material(world["teacher2"], "Hình học phẳng")

    clock[0] += MAX_AGE - 1
    again = other.get("/search?q=hinh+hoc")
    assert again.status_code == 200 and "không gian" in again.text and "phẳng" not in again.text
    # Only the results block is shared: each visitor's page carries their own session's CSRF token.
    tokens = re.compile(r'name="csrf_token" value="([^"]+)"')
    assert tokens.findall(first.text) and tokens.findall(first.text) != tokens.findall(again.text)
    sign_in(teacher, "giaovien@thcs1.ninhbinh.edu.vn")
    assert "phẳng" in teacher.get("/search?q=hinh+hoc").text  # signed in: not the anonymous block
    assert "phẳng" in other.get("/search?q=hinh+hoc&sort=newest").text  # other arguments

    clock[0] += 2
    assert "phẳng" in other.get("/search?q=hinh+hoc").text


def _signed_in(app: Any, email: str) -> Any:
    client = app.test_client()
    sign_in(client, email)
    return client


def test_signed_in_people_share_a_page_only_while_their_own_materials_do_not_match(app, world, clock):
    add_material(world["teacher2"], "Hình học không gian")
    teacher = _signed_in(app, "giaovien@thcs1.ninhbinh.edu.vn")
    reviewer = _signed_in(app, "duyet@so.ninhbinh.edu.vn")
    assert "không gian" in teacher.get("/search?q=hinh+hoc").text
    add_material(world["teacher2"], "Hình học phẳng")

    clock[0] += MAX_AGE - 1
    shared = reviewer.get("/search?q=hinh+hoc")  # the teacher's block: the same query, nothing of their own
    assert shared.status_code == 200 and "không gian" in shared.text and "phẳng" not in shared.text
    assert "Người dept_reviewer" in shared.text  # the page around the block is the reviewer's own

    # A draft of the teacher's own matches: their page is theirs alone, current, and shows it.
    add_material(world["teacher"], "Hình học tổ hợp", status="draft")
    own = teacher.get("/search?q=hinh+hoc").text
    assert "tổ hợp" in own and "phẳng" in own
    # A school-approved material is seen by the department's reviewers, not by another school's teacher.
    add_material(world["teacher"], "Hình học vectơ", status="school_approved")
    assert "vectơ" in reviewer.get("/search?q=hinh+hoc").text
    other = _signed_in(app, "giaovien@thcs2.ninhbinh.edu.vn")
    page = other.get("/search?q=hinh+hoc").text
    assert "vectơ" not in page and "tổ hợp" not in page and "phẳng" not in page  # the shared block

    clock[0] += 2
    assert "phẳng" in other.get("/search?q=hinh+hoc").text


def test_a_shared_block_never_holds_a_material_of_the_person_it_was_rendered_for(app, world, clock, monkeypatch):
    """The race: the teacher's draft is indexed after their search was prepared as shareable."""
    add_material(world["teacher2"], "Hình học không gian")
    run, drafts = search.results, []

    def results_after_a_draft_arrives(prepared: search.PreparedSearch, shared: bool = False) -> Any:
        if not drafts:
            assert prepared.shareable  # decided before the draft existed
            # Committed and applied to the index at once, before the block is searched.
            drafts.append(add_material(world["teacher"], "Hình học tổ hợp", status="draft"))
        return run(prepared, shared)

    monkeypatch.setattr(search, "results", results_after_a_draft_arrives)
    teacher = _signed_in(app, "giaovien@thcs1.ninhbinh.edu.vn")
    own = teacher.get("/search?q=hinh+hoc").text
    assert "không gian" in own and "tổ hợp" not in own
    other = _signed_in(app, "giaovien@thcs2.ninhbinh.edu.vn").get("/search?q=hinh+hoc").text
    assert "không gian" in other and "tổ hợp" not in other
    assert drafts and "tổ hợp" in teacher.get("/search?q=hinh+hoc&sort=newest").text  # their own page now


def test_signed_in_and_anonymous_blocks_are_never_mixed(app, world, clock):
    add_material(world["teacher2"], "Hình học giải tích", licence="ALL_RIGHTS_SCHOOL")  # signed-in only
    teacher = _signed_in(app, "giaovien@thcs1.ninhbinh.edu.vn")
    assert "giải tích" in teacher.get("/search?q=hinh+hoc").text
    anonymous = app.test_client().get("/search?q=hinh+hoc")
    assert anonymous.status_code == 200 and "giải tích" not in anonymous.text
    assert "giải tích" in _signed_in(app, "duyet@so.ninhbinh.edu.vn").get("/search?q=hinh+hoc").text


def test_a_refused_argument_is_never_shared(app, world, clock):
    visitor = app.test_client()
    refused = visitor.get("/search?grade=99")
    assert refused.status_code == 422 and refused.text.count('alert-danger') == 1
    assert app.test_client().get("/search?grade=99").text.count('alert-danger') == 1
    teacher = _signed_in(app, "giaovien@thcs1.ninhbinh.edu.vn")
    assert teacher.get("/search?grade=99").text.count('alert-danger') == 1
    assert teacher.get("/search?grade=99").status_code == 422


def test_searches_go_on_when_a_commit_removed_the_contents_being_opened(app, world, monkeypatch):
    add_material(world["teacher2"], "Hình học không gian")
    assert total("hinh hoc") == 1  # this thread now holds a searcher
    add_material(world["teacher2"], "Hình học phẳng")  # its searcher is out of date
    real_open = search_pool.open_dir
    failures = [IndexMissing("_MAIN_2.toc vanished: a commit replaced it while it was being opened")]

    def racing_open(path: Any) -> Any:
        if failures:
            raise failures.pop()
        return real_open(path)

    monkeypatch.setattr(search_pool, "open_dir", racing_open)
    assert total("phang") == 1 and not failures  # the new generation, opened on a second try
    assert total("khong gian") == 1  # and this thread's searcher keeps working


def test_download_counts_reach_the_log_together_at_most_every_batch_seconds(app, world, monkeypatch):
    from sqlalchemy import func, select

    from repository.extensions import db
    from repository.models import SearchChange
    from repository.services import materials
    from search import changelog

    now = [50.0]
    monkeypatch.setattr(changelog, "_clock", lambda: now[0])
    app.config["SEARCH_DOWNLOAD_BATCH_SECONDS"] = "60"
    first = add_material(world["teacher2"], "Hình học không gian")
    second = add_material(world["teacher2"], "Hình học phẳng")
    rows = lambda: db.session.scalar(select(func.count()).select_from(SearchChange))  # noqa: E731
    logged = rows()
    reader = world["teacher"]
    materials.count_download(reader, first)
    now[0] += 30
    materials.count_download(reader, second)
    materials.count_download(reader, second)
    assert rows() == logged  # held back: the batch began 30 s ago
    now[0] += 30
    materials.count_download(reader, second)
    assert rows() == logged + 2  # both materials, once each
    hits = search.search(reader, search.parse(MultiDict({"sort": "downloads"}))).hits
    assert [h.material.id for h in hits[:2]] == [second.id, first.id]


def _leaf_readers() -> dict[str, Any]:
    searcher = service_index()._searcher()
    return {r.segment().segment_id(): r for r, _ in searcher.reader().leaf_readers()}


def test_a_commit_reopens_only_the_segments_it_changed(app, world):
    from repository.extensions import db

    kept = add_material(world["teacher2"], "Hình học không gian")
    changed = add_material(world["teacher2"], "Đại số tuyến tính")
    assert total("hinh hoc") == 1
    before = _leaf_readers()
    add_material(world["teacher2"], "Xác suất thống kê")  # a new segment; the others as they were
    after = _leaf_readers()
    assert len(after) == len(before) + 1 and all(after[k] is r for k, r in before.items())

    changed.title = "Giải tích hàm"  # replaces its document: a deletion in the segment that held it
    db.session.commit()
    assert total("dai so") == 0 and total("giai tich") == 1 and total("hinh hoc") == 1
    assert total("xac suat") == 1 and kept.id
