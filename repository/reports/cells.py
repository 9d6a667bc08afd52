"""The coverage cells of a school: grade × compulsory subject or activity, as data/ defines them.

Rules:
- general-education grades: the subjects and activities with status BB, HD or DP in the
  programme in force on the first day of the school year; Tin học and Công nghệ (grades 3-5) and
  Âm nhạc and Mĩ thuật are separate cells because the programme lists them separately, Lịch sử và
  Địa lí is one cell in grades 4-9; grades 10-12 add the elective (LC) subjects the school
  declares for that year;
- preschool age groups: the development domains of the group's khối;
- a material tagged with a component subject (Lịch sử, Địa lí in grades 6-9) fills its official
  group's cell; a material tagged with a subject that is no cell of that grade fills nothing.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Optional

from repository import curriculum

UPPER_SECONDARY = ("10", "11", "12")
ELECTIVE = "LC"


@dataclass(frozen=True)
class Cell:
    grade: str
    subject: str  # the cell's subject, activity or development-domain code


@functools.lru_cache(maxsize=512)
def _grade_cells(grade: str, on: date) -> tuple[str, ...]:
    if grade in curriculum.load().age_group_khoi:
        return tuple(curriculum.age_group_domains(grade))
    return tuple(dict.fromkeys(curriculum.compulsory_subjects(grade, on)))


@functools.lru_cache(maxsize=64)
def _electives_offered(grade: str, on: date) -> frozenset[str]:
    return frozenset(e.subject for e in curriculum.programme(grade, on) if e.status == ELECTIVE)


def required_cells(grades: Iterable[str], on: date, electives: Iterable[str] = ()) -> list[Cell]:
    """The cells of a school teaching `grades`, with the `electives` it declares, in programme order."""
    return list(_required(tuple(grades), on, frozenset(electives)))


@functools.lru_cache(maxsize=256)  # schools of one type share their cells
def _required(grades: tuple[str, ...], on: date, chosen: frozenset[str]) -> tuple[Cell, ...]:
    cells: list[Cell] = []
    for grade in grades:
        if grade not in curriculum.load().grades:
            continue  # an override naming a grade the data no longer has
        cells += [Cell(grade, code) for code in _grade_cells(grade, on)]
        if grade in UPPER_SECONDARY:
            compulsory = set(_grade_cells(grade, on))
            cells += [Cell(grade, code) for code in sorted(_electives_offered(grade, on) & chosen - compulsory)]
    return tuple(cells)


def elective_choices(on: date) -> list[str]:
    """The elective subject codes a grade 10-12 school may declare in a year starting `on`."""
    return sorted(_electives_offered("10", on))


@functools.lru_cache(maxsize=4096)
def _cell_subject(subject: str, grade: str, on: date, elective: bool) -> Optional[str]:
    own = set(_grade_cells(grade, on)) | (_electives_offered(grade, on) if elective else set())
    if subject in own:
        return subject
    info = curriculum.load().subjects.get(subject)
    for parent in info.parents if info else ():
        group = curriculum.load().subjects[parent]
        if parent in own and grade in group.component_grades:
            return parent
    return None


def cell_of(subject: str, grade: str, on: date) -> Optional[str]:
    """The cell subject a material tagged (subject, grade) fills, or None. Electives of grades
    10-12 are returned too; whether the school teaches them is the caller's check."""
    if grade not in curriculum.load().grades:
        return None
    return _cell_subject(subject, grade, on, grade in UPPER_SECONDARY)


def subject_name(code: str) -> str:
    """The display name of a cell's subject or development domain."""
    info = curriculum.load().subjects.get(code)
    if info:
        return info.name
    return curriculum.preschool_domains().get(code, code)
