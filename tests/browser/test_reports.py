"""PLACE FOR THE REPORT JOURNEYS (issue 8) — to be written when the report pages exist.

Ready for them:
- the people, seeded by province.py: province.ACCOUNTS["school_admin"] (THCS01, ward Hoa Lư 14329),
  ["school_admin2"] (THCS02, commune Gia Viễn 14464) and ["unit_officer"] (UBND phường Hoa Lư,
  14329: its schools are THCS01 and THPT01, never THCS02);
- steps.sign_in / steps.go_to (phone menu included), steps.download (name and SHA-256 of a file),
  the `shots` camera and `new_context(DESKTOP | PHONE)`;
- steps.upload_lesson + steps.decide publish a material of THCS01 through the browser, which is
  what should change the school's cell in the coverage matrix.

Each skip below names the journey to write in its place; remove the skip with the test body.
"""
from __future__ import annotations

from typing import Any

import pytest

PENDING = "Chưa có trang báo cáo (issue 8): viết hành trình này khi trang báo cáo được thêm"


@pytest.mark.skip(reason=PENDING)
def test_school_admin_sees_the_coverage_matrix_change_and_downloads_the_xlsx(new_context: Any, shots: Any) -> None:
    """To write: the school admin opens the coverage matrix and notes THCS01's cell for a subject
    and grade; a teacher of THCS01 uploads and both reviewers approve a material for that cell
    (steps.upload_lesson, steps.decide); the admin reloads and sees the cell change; the admin
    downloads the XLSX report (steps.download) and openpyxl finds the same figure in it."""


@pytest.mark.skip(reason=PENDING)
def test_commune_officer_sees_only_their_schools(new_context: Any, shots: Any) -> None:
    """To write: the Hoa Lư officer opens the report; THCS01 is listed and THCS02 (Gia Viễn) is
    not, on the page and in the downloaded file; a school of another commune typed into the URL
    answers 403/404."""
