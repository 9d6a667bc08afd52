"""Faults of the search index: the process killed while it rebuilds or applies the change log, the
disk refusing the index's writes, and damaged index files. The database is the truth: the live
index keeps answering, `check` reports what is wrong and `check --repair` (or the next search)
rebuilds it, and nothing in the database is touched.

(tests/search/test_index_maintenance.py has the damaged table of contents found by a search; here
the other damage and what `check` says about each.)"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from repository.extensions import db
from repository.permissions import SystemActor
from repository.services import search, search_index
from search import service_index
from search.applier import CURSOR_FILE
from search.index import CURRENT, GENERATION_PREFIX, live_dir
from tests.faults.processes import Child
from tests.faults.support import assert_clean, catalogue, run_check, sqlite_only
from tests.search.materials import add_material

# The index is the subject here, not the database: one database is enough.
pytestmark = sqlite_only

WORDS = ("phương trình bậc hai nghiệm số học hình học không gian tọa độ véc tơ xác suất thống kê "
         "đạo hàm tích phân lượng giác dãy số cấp số cộng nhân hàm số mũ lôgarit").split()


def found(q: str) -> int:
    service_index().pool.close()  # a fresh searcher, as another request would have
    return search.search(None, search.parse(MultiDict({"q": q}))).total


def add_many(world: dict[str, Any], count: int, title: str, words: int = 20) -> list[int]:
    """Published materials straight into the database, committed together (one log apply)."""
    made = [add_material(world["teacher2"], f"{title} {n}", commit=False,
                         description=" ".join(WORDS[(n * 7 + i) % len(WORDS)] + str(i % 97) for i in range(words)))
            for n in range(count)]
    db.session.commit()
    return [m.id for m in made]


def generations(app: Any) -> set[str]:
    return {p.name for p in Path(app.config["SEARCH_INDEX_DIR"]).glob(f"{GENERATION_PREFIX}*")}


def cli(app: Any, *args: str) -> Any:
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_killed_during_reindex_the_live_index_stays_and_reindex_works_again(
        app: Any, world: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    add_many(world, 40, "Hình học phẳng")
    before = catalogue()
    live = live_dir(service_index().root)
    child = Child(app, database_url, tmp_path / "child.log", "cli", "search", "reindex", halt="build:20")
    try:
        child.wait_halted()  # 20 of 40 documents are in its writer, its generation not yet live
        child.kill()
    finally:
        child.stop()
    half_built = generations(app) - {live.name}
    assert len(half_built) == 1
    assert live_dir(service_index().root) == live and found("hinh hoc phang") == 40
    assert_clean(app)
    result = cli(app, "search", "reindex")
    assert result.exit_code == 0, result.output
    assert not half_built & generations(app)  # the next switch removed what the kill left
    assert found("hinh hoc phang") == 40
    assert_clean(app)
    assert catalogue() == before


@pytest.mark.parametrize("halt", ["writing", "applied"])
def test_killed_while_applying_the_log_the_next_apply_catches_up(
        app_with: Any, world: dict[str, Any], database_url: str, tmp_path: Path, halt: str) -> None:
    """`writing`: the writer holds the index lock with uncommitted documents. `applied`: Whoosh
    has committed, the cursor is not saved, so the next apply repeats the batch."""
    app = app_with(SEARCH_APPLY="worker")
    with app.app_context():
        search_index.rebuild(SystemActor())
        add_many(world, 30, "Xác suất thống kê")
        before = catalogue()
        child = Child(app, database_url, tmp_path / "child.log", "cli", "search", "worker", "--once", halt=halt)
        try:
            child.wait_halted()
            child.kill()
        finally:
            child.stop()
        expected = 30 if halt == "applied" else 0
        assert found("xac suat thong ke") == expected
        result = cli(app, "search", "worker", "--once")
        assert result.exit_code == 0, result.output
        assert found("xac suat thong ke") == 30
        assert_clean(app)
        assert catalogue() == before


def test_disk_full_while_writing_the_index_leaves_the_live_index_and_the_log(
        app_with: Any, world: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    """RLIMIT_FSIZE in the child: a write past 64 KiB in any file fails with EFBIG, the error a
    size-limited or full disk gives (ENOSPC takes a real small filesystem, which needs root to
    mount); the index's own error handling is what is exercised, through real writes."""
    app = app_with(SEARCH_APPLY="worker")
    limit = 64 * 1024
    with app.app_context():
        add_many(world, 5, "Đạo hàm cơ bản")
        search_index.rebuild(SystemActor())
        live = live_dir(service_index().root)
        add_many(world, 150, "Tích phân từng phần", words=60)
        before = catalogue()
        cursor = (live / CURSOR_FILE).read_text()

        for command in (("search", "worker", "--once"), ("search", "reindex")):
            child = Child(app, database_url, tmp_path / "child.log", "cli", *command, max_file_bytes=limit)
            output = child.finish()
            assert child.process.returncode == 1, output
            assert "Không ghi được chỉ mục tìm kiếm (File too large)" in output
            assert live_dir(service_index().root) == live and generations(app) == {live.name}
            assert (live / CURSOR_FILE).read_text() == cursor  # nothing of the log was skipped
            assert found("dao ham co ban") == 5 and found("tich phan tung phan") == 0

        result = cli(app, "search", "worker", "--once")  # room again: the same command finishes
        assert result.exit_code == 0, result.output
        assert found("tich phan tung phan") == 150
        assert_clean(app)
        assert catalogue() == before


def _damage_toc(live: Path) -> None:
    for toc in live.glob("_MAIN_*.toc"):
        toc.write_bytes(b"not a whoosh table of contents")


def _damage_segment(live: Path) -> None:
    for segment in live.glob("*.seg"):
        segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 2])


def _damage_link(live: Path) -> None:
    link = live.parent / CURRENT
    link.unlink()
    link.symlink_to(f"{GENERATION_PREFIX}gone")


@pytest.mark.parametrize("damage", [_damage_toc, _damage_segment, _damage_link], ids=["toc", "segment", "current"])
def test_a_damaged_index_is_reported_by_check_and_rebuilt_by_repair(app: Any, world: dict[str, Any],
                                                                     damage: Any) -> None:
    ids = add_many(world, 12, "Lượng giác")
    before = catalogue()
    damage(live_dir(service_index().root))
    result = run_check(app)
    assert result.exit_code == 1 and "index_damaged:" in result.output, result.output
    repaired = assert_clean(app, "--repair").output
    assert "đã sửa chỉ mục hỏng" in repaired
    assert found("luong giac") == len(ids)
    assert_clean(app)
    assert catalogue() == before


def test_a_damaged_segment_is_rebuilt_by_the_next_search(app: Any, world: dict[str, Any]) -> None:
    add_many(world, 12, "Lượng giác")
    before = catalogue()
    damaged = live_dir(service_index().root)
    _damage_segment(damaged)
    assert found("luong giac") == 12
    assert live_dir(service_index().root) != damaged
    assert_clean(app)
    assert catalogue() == before


@pytest.mark.parametrize("content", ["{}", "[1, 2]", "{\"low\": \"x\"}", "\x00garbage"])
def test_a_damaged_cursor_replays_the_log(app_with: Any, world: dict[str, Any], content: str,
                                          caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cursor only says how far the log was applied: lost, the log is applied again from
    its start, which repeats work and loses nothing."""
    # The migrations run by the fixtures load alembic's logging file, which disables the loggers
    # that exist by then; the warning is what this test looks for.
    monkeypatch.setattr(logging.getLogger("search.applier"), "disabled", False)
    app = app_with(SEARCH_APPLY="worker")
    with app.app_context():
        add_many(world, 6, "Dãy số")
        search_index.rebuild(SystemActor())
        add_many(world, 4, "Cấp số cộng")
        before = catalogue()
        (live_dir(service_index().root) / CURSOR_FILE).write_text(content)
        with caplog.at_level(logging.WARNING, logger="search.applier"):
            result = cli(app, "search", "worker", "--once")
        assert result.exit_code == 0, result.output
        assert "unreadable" in caplog.text
        assert found("cap so cong") == 4 and found("day so") == 6
        cursor = json.loads((live_dir(service_index().root) / CURSOR_FILE).read_text())
        assert cursor["low"] > 0
        assert_clean(app)
        assert catalogue() == before
