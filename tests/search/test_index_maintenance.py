"""Keeping the index equal to the database: the log, rebuilds, `check`, several processes."""
from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import update
from werkzeug.datastructures import MultiDict

from repository.extensions import db
from repository.models import Material
from repository.permissions import SystemActor
from repository.services import search, search_index
from search import service_index
from search.index import GENERATION_PREFIX, live_dir
from tests.search.materials import add_material
from tests.search.workers import create_and_publish


def total(actor, q: str = "") -> int:
    return search.search(actor, search.parse(MultiDict({"q": q}))).total


def test_rebuild_switches_atomically_while_searches_continue(app, world):
    for i in range(30):
        add_material(world["teacher2"], f"Ôn tập chương {i}", commit=False)
    db.session.commit()

    first = live_dir(service_index().root)
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        with app.app_context():
            while not stop.is_set():
                try:
                    counts.append(total(None, "on tap"))
                except BaseException as error:  # any failure during the switch is the bug
                    errors.append(error)
                    return

    reader = threading.Thread(target=keep_searching)
    reader.start()
    for _ in range(3):
        search_index.rebuild(SystemActor())
    stop.set()
    reader.join()
    assert not errors and counts and set(counts) == {30}
    root = service_index().root
    assert live_dir(root) != first
    assert len(list(root.glob(f"{GENERATION_PREFIX}*"))) == 2  # the live one and the one before


def test_check_finds_and_repairs_missing_extra_and_stale_documents(world):
    kept = add_material(world["teacher2"], "Hình học không gian")
    gone = add_material(world["teacher2"], "Xác suất thống kê")
    stale = add_material(world["teacher2"], "Số học vui")
    assert search_index.check_index(SystemActor()).problems == 0
    kept_id, gone_id, stale_id = kept.id, gone.id, stale.id
    index = service_index()
    with _writer(index) as writer:
        writer.delete_by_term("id", str(kept.id))
    # Changes made behind the ORM's back write no log rows: the index cannot know of them.
    db.session.execute(update(Material).where(Material.id == stale.id).values(status="draft"))
    db.session.execute(Material.__table__.delete().where(Material.id == gone.id))
    db.session.commit()
    report = search_index.check_index(SystemActor())
    assert (report.missing, report.extra, report.stale) == ([kept_id], [gone_id], [stale_id])
    assert search_index.check_index(SystemActor(), repair=True).repaired == 3
    assert search_index.check_index(SystemActor()).problems == 0
    assert total(world["teacher"], "so hoc") == 0 and total(world["teacher"], "hinh hoc") == 1


class _writer:
    """A Whoosh writer on the live index, committed on exit (to damage the index on purpose)."""

    def __init__(self, index) -> None:
        from search.index import open_dir

        self.writer = open_dir(live_dir(index.root)).writer()

    def __enter__(self):
        return self.writer

    def __exit__(self, *exc) -> None:
        self.writer.commit()


def test_several_processes_writing_at_once_leave_index_equal_to_database(app, world, database_url):
    add_material(world["teacher"], "Khởi tạo chỉ mục")
    index_dir = str(service_index().root)
    context = multiprocessing.get_context("spawn")
    owners = [world["teacher"].id, world["teacher2"].id, world["school_reviewer"].id]
    processes = [context.Process(target=create_and_publish, args=(database_url, index_dir, owner, f"P{n}", 12))
                 for n, owner in enumerate(owners)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
        assert process.exitcode == 0
    db.session.expire_all()
    report = search_index.check_index(SystemActor())
    assert report.problems == 0 and report.documents == report.materials == 37
    assert total(world["dept_reviewer"], "tien trinh") == 3 * 6  # the published half of each process


def test_a_damaged_index_directory_is_rebuilt_on_the_next_search(world):
    add_material(world["teacher2"], "Hình học phẳng")
    damaged = live_dir(service_index().root)
    tables = list(damaged.glob("_MAIN_*.toc"))
    assert tables
    for toc in tables:
        toc.write_bytes(b"not a whoosh table of contents")
    service_index().pool.close()
    assert total(world["teacher"], "hinh hoc") == 1
    assert live_dir(service_index().root) != damaged
