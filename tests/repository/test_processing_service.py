"""Processing after an upload: a slide deck gets a PDF rendition, a thumbnail and its text; a
failure marks the file failed with the reason and never loses the upload; re-running is harmless."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import current_app

from repository import demo_files, processing
from repository.extensions import db
from repository.models import MaterialFile
from repository.services import materials
from repository.services import processing as processing_service

needs_office = pytest.mark.skipif(
    not processing.libreoffice_available() and os.environ.get("REQUIRE_MEDIA_TOOLS") != "1",
    reason="LibreOffice is not installed (CI installs it and sets REQUIRE_MEDIA_TOOLS=1)")


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"PROCESSING": "inline"}


def _upload(world: dict[str, Any], path: Path, name: str) -> MaterialFile:
    data = materials.MaterialInput(title="Bài giảng", subject="TOAN", grades=["8"])
    return materials.create_material(world["teacher"], data, [materials.Upload(path, name)]).files[0]


def _objects() -> set[str]:
    return {info.key for info in current_app.extensions["storage"].list("")}


@needs_office
def test_a_slide_deck_gets_a_rendition_a_thumbnail_and_its_text(world: dict[str, Any], tmp_path: Path) -> None:
    deck = demo_files.pptx_file(tmp_path / "deck.pptx", "Phương trình bậc nhất", ["Nghiệm của phương trình"])
    stored = _upload(world, deck, "Phương trình.pptx")
    assert stored.state == "ready", stored.failure_reason
    assert stored.preview_key and stored.thumbnail_key
    assert "Nghiệm của phương trình" in stored.extracted_text
    store = current_app.extensions["storage"]
    with store.open(stored.preview_key) as rendition:
        assert rendition.read(5) == b"%PDF-"
    before = _objects()
    processing_service.process_file(stored.id)  # idempotent: same derived objects, nothing new
    assert _objects() == before and db.session.get(MaterialFile, stored.id).state == "ready"


def test_a_pdf_gets_a_thumbnail_and_text(world: dict[str, Any], tmp_path: Path) -> None:
    pdf = demo_files.pdf_file(tmp_path / "a.pdf", "De kiem tra hoc ki", ["Cau 1: Giai phuong trinh"])
    stored = _upload(world, pdf, "Đề kiểm tra.pdf")
    assert stored.state == "ready", stored.failure_reason
    assert stored.thumbnail_key and stored.preview_key is None
    assert "Giai phuong trinh" in stored.extracted_text


def test_a_processing_failure_keeps_the_upload(world: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise processing.ProcessingFailed("quá thời gian xử lý", code="timeout")

    monkeypatch.setattr(processing, "extract_text", broken)
    pdf = demo_files.pdf_file(tmp_path / "b.pdf", "Bai", ["x"])
    stored = _upload(world, pdf, "Bài.pdf")
    assert stored.state == "failed" and "quá thời gian" in stored.failure_reason
    assert stored.object_key in _objects()
    monkeypatch.undo()
    assert processing_service.process_file(stored.id).state == "ready"  # safe to re-run


def test_a_spreadsheet_gets_its_text_on_the_local_backend(world: dict[str, Any], tmp_path: Path) -> None:
    """Local objects have no extension; the parsers must still see one."""
    sheet = demo_files.xlsx_file(tmp_path / "s.xlsx", "Phiếu học tập", [("Câu hỏi về phân số", 2)])
    stored = _upload(world, sheet, "Phiếu.xlsx")
    assert stored.state == "ready", stored.failure_reason
    assert "Câu hỏi về phân số" in stored.extracted_text
