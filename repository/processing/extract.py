"""Text extraction for the search index, in a sandboxed child process (TECH-NOTES §6).

``extract_text`` starts ``python -m repository.processing._extract_child`` with RLIMIT_AS/CPU set,
hands it a JSON job and reads back the text: NFC-normalised, whitespace-collapsed, capped, with
legacy-encoding handling (TECH-NOTES §1.4). A timeout, crash or memory blow-up raises
``ProcessingFailed``; nothing can hang the caller.

Flags (``ExtractedText.flags``, stored in ``MaterialFile.text_flags``):
- ``legacy_tcvn3_converted``: TCVN3 (.VnTime…) text was converted to Unicode;
- ``legacy_cp1258_converted``: a Windows-1258 text file was converted;
- ``legacy_encoding_suspected``: looks like a legacy encoding but was not converted safely;
- ``legacy_vni_suspected``: looks like VNI (VNI-Times…), not converted;
- ``truncated``: the page/cell/character cap was reached;
- ``no_text``: nothing extractable (e.g. a scanned PDF);
- ``unsupported_format``: no extractor for this extension (old .doc/.ppt/.xls: index metadata,
  or extract from the PDF rendition).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._sandbox import describe_exit, run_limited
from .errors import ProcessingFailed

__all__ = ["ExtractedText", "extract_text", "SUPPORTED_EXTENSIONS"]

log = logging.getLogger(__name__)

CHILD_MODULE = "repository.processing._extract_child"
MAX_PAGES = 500
MAX_CELLS = 500_000
MAX_ZIP_BYTES = 200 * 1024 * 1024
SUPPORTED_EXTENSIONS = frozenset({
    "pdf", "docx", "dotx", "pptx", "ppsx", "potx", "xlsx", "xlsm", "xltx",
    "odt", "odp", "ods", "ott", "otp", "ots", "txt", "csv", "tsv", "md",
})


@dataclass(frozen=True)
class ExtractedText:
    text: str
    flags: list[str] = field(default_factory=list)


def _child_argv() -> tuple[list[str], bool]:
    """(argv, is_module) of the worker; a seam for tests."""
    return [CHILD_MODULE], True


def _run_child(job: dict, *, timeout: float, memory_mb: int) -> dict:
    argv, module = _child_argv()
    done = run_limited(argv, module=module, timeout=timeout, memory_mb=memory_mb, file_mb=64,
                       input_bytes=json.dumps(job).encode("utf-8"), capture_stdout=True,
                       what="text extraction")
    if done.returncode != 0:
        code, reason = describe_exit(done.returncode)
        if "MemoryError" in done.stderr:
            code, reason = "memory", "Vượt giới hạn bộ nhớ / memory limit exceeded"
        log.warning("text extraction of %s failed (%s): %s", job["src"], done.returncode, done.stderr[-500:])
        raise ProcessingFailed(reason, code=code)
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except ValueError:
        raise ProcessingFailed("Tiến trình xử lý trả kết quả lỗi / worker returned no result",
                               code="crashed") from None
    return result


def extract_text(src: Path, kind: str, extension: str, *, max_chars: int = 2_000_000, timeout: float = 60,
                 memory_mb: int = 512) -> ExtractedText:
    """Extract the searchable text of the local file ``src``.

    ``extension`` (without dot, any case) chooses the parser; ``kind`` is a hint used when the
    extension says nothing (``"pdf"``, ``"text"``). Raises ProcessingFailed on timeout, crash,
    an archive that expands beyond 200 MB, a password-protected PDF or an unparsable file.
    """
    src = Path(src).absolute()  # not resolve(): a symlink's name carries the extension
    if not src.is_file():
        raise ProcessingFailed("Không tìm thấy tệp / file not found", code="invalid")
    job = {
        "src": str(src), "kind": kind or "", "extension": (extension or "").lower().lstrip("."),
        "max_chars": int(max_chars), "max_pages": MAX_PAGES, "max_cells": MAX_CELLS,
        "max_zip_bytes": MAX_ZIP_BYTES, "engine": "pdfium",
    }
    started = time.monotonic()
    try:
        result = _run_child(job, timeout=timeout, memory_mb=memory_mb)
    except ProcessingFailed as exc:
        # pdfium is C++: if it crashed on this PDF, pypdf (pure Python) may still read it,
        # within what is left of the same time budget.
        is_pdf = job["extension"] == "pdf" or (not job["extension"] and kind == "pdf")
        remaining = timeout - (time.monotonic() - started)
        if exc.code not in ("crashed", "memory") or not is_pdf or remaining < 1:
            raise
        job["engine"] = "pypdf"
        result = _run_child(job, timeout=remaining, memory_mb=memory_mb)
    if not result.get("ok"):
        raise ProcessingFailed(str(result.get("reason") or "failed"), code=str(result.get("code") or "failed"))
    return ExtractedText(text=result["text"], flags=list(result["flags"]))
