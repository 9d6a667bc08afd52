"""PDF renditions of office documents with headless LibreOffice, in a sandboxed child process.

Every call gets its own throw-away LibreOffice profile (``-env:UserInstallation``), so concurrent
conversions never share a running instance or a lock file. The profile is pre-seeded to disable
macros and never update links or recalculate formulas on load (no WEBSERVICE/DDE fetches), and
the import filter is forced from the extension, so an HTML file renamed ``.docx`` is not opened
as a web page. On timeout the whole process group (soffice → oosplash → soffice.bin) is killed.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Optional

from ._sandbox import run_limited
from .errors import ProcessingFailed

__all__ = ["libreoffice_available", "pdf_rendition", "RENDITION_EXTENSIONS"]

log = logging.getLogger(__name__)

# extension → LibreOffice import filter
IMPORT_FILTERS = {
    "docx": "MS Word 2007 XML", "doc": "MS Word 97", "odt": "writer8", "rtf": "Rich Text Format",
    "pptx": "Impress MS PowerPoint 2007 XML", "ppt": "MS PowerPoint 97", "odp": "impress8",
    "ppsx": "Impress MS PowerPoint 2007 XML AutoPlay", "pps": "MS PowerPoint 97 AutoPlay",
    "xlsx": "Calc MS Excel 2007 XML", "xls": "MS Excel 97", "ods": "calc8",
}
RENDITION_EXTENSIONS = frozenset(IMPORT_FILTERS)
# Per application: (OOXML main-part prefix, OOXML filter, ODF filter, binary 97 filter).
_FAMILIES = {
    "writer": ("word/", "MS Word 2007 XML", "writer8", "MS Word 97"),
    "impress": ("ppt/", "Impress MS PowerPoint 2007 XML", "impress8", "MS PowerPoint 97"),
    "calc": ("xl/", "Calc MS Excel 2007 XML", "calc8", "MS Excel 97"),
}
_FAMILY_OF = {"docx": "writer", "doc": "writer", "odt": "writer", "rtf": "writer",
              "pptx": "impress", "ppt": "impress", "odp": "impress", "ppsx": "impress", "pps": "impress",
              "xlsx": "calc", "xls": "calc", "ods": "calc"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SOFFICE_PATHS = ("/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice",
                  "/opt/libreoffice/program/soffice")

_HARDENING_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Field" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def _soffice() -> Optional[str]:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    return next((p for p in _SOFFICE_PATHS if os.access(p, os.X_OK)), None)


def choose_filter(path: Path, ext: str) -> str:
    """The import filter for ``path``: by extension, corrected within the same application for
    the usual mislabels (a .doc that is really RTF or DOCX, a .xls that is really XLSX…).
    Content of another kind (HTML saved as .doc, say) keeps the extension's filter and fails."""
    own = IMPORT_FILTERS[ext]
    ooxml_prefix, ooxml, odf, binary = _FAMILIES[_FAMILY_OF[ext]]
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"{\\rtf") and _FAMILY_OF[ext] == "writer":
        return "Rich Text Format"
    if head.startswith(_OLE_MAGIC):
        return own if ext in ("doc", "ppt", "pps", "xls") else binary
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            return own
        if any(name.startswith(ooxml_prefix) for name in names):
            return own if ext in ("docx", "pptx", "ppsx", "xlsx") else ooxml
        if "mimetype" in names:
            return odf
    return own


def libreoffice_available() -> bool:
    """Whether a LibreOffice ``soffice`` binary is installed."""
    return _soffice() is not None


def pdf_rendition(src: Path, dest_dir: Path, *, timeout: float = 120, extension: Optional[str] = None,
                  memory_mb: int = 2048) -> Optional[Path]:
    """Convert an office document to PDF; return ``dest_dir/<src stem>.pdf`` or None.

    ``extension`` (default: ``src``'s suffix) picks the import filter, so a temp file without a
    suffix still converts. None when LibreOffice is missing, the type is not supported, or the
    conversion failed or timed out. A re-run replaces the PDF.
    """
    soffice = _soffice()
    if soffice is None:
        return None
    src = Path(src).absolute()  # not resolve(): a symlink's name carries the extension
    ext = (extension or src.suffix).lower().lstrip(".")
    if ext not in IMPORT_FILTERS or not src.is_file():
        return None
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{src.stem or 'document'}.pdf"

    with tempfile.TemporaryDirectory(prefix="lo-") as work_dir:
        work = Path(work_dir)
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_HARDENING_XCU, encoding="utf-8")
        inbox, outdir = work / "in", work / "out"
        inbox.mkdir()
        outdir.mkdir()
        staged = inbox / f"input.{ext}"
        staged.symlink_to(src)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(work),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SAL_USE_VCLPLUGIN": "svp",
        }
        argv = [soffice, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                "--nofirststartwizard", f"-env:UserInstallation={profile.as_uri()}",
                f"--infilter={choose_filter(src, ext)}", "--convert-to", "pdf", "--outdir", str(outdir),
                str(staged)]
        try:
            done = run_limited(argv, timeout=timeout, memory_mb=memory_mb, file_mb=2048,
                               env=env, cwd=work, what="LibreOffice")
        except ProcessingFailed as exc:
            log.warning("PDF rendition of %s: %s", src, exc.reason)
            return None
        produced = outdir / "input.pdf"
        if not produced.is_file() or produced.stat().st_size == 0:
            log.warning("PDF rendition of %s failed (exit %s): %s", src, done.returncode, done.stderr[-500:])
            return None
        with open(produced, "rb") as fh:
            if fh.read(5) != b"%PDF-":
                return None
        tmp = dest_dir / f".{dest.name}.{uuid.uuid4().hex}.tmp"
        try:
            shutil.move(str(produced), tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return dest
