"""Curriculum vocabulary: subjects, grades, programme, school types, series, material types, licences.

The data lives in versioned YAML files under ``data/`` (see their headers for sources); this
module only loads and validates them. Rules:

- Each data directory is loaded and validated once (cached by resolved path). Any problem -
  unreadable YAML, a duplicate key or code, a non-NFC string, an unknown subject / grade / level
  code, an alias matching two subjects, overlapping dated entries - raises
  ``CurriculumDataError`` naming the file and the entry.
- Grade codes are strings: "1".."12" for general education, age-group codes (NT_3_12T ..
  MG_5_6) for preschool, which is organised by age group and development domain, not subject.
- Programme entries and THPT rules carry ``valid_from`` / optional ``valid_to`` (inclusive
  ISO dates); a query returns what was in force on the given date (default: today).
- Official groups whose code is not a subject (TIN_HOC_CONG_NGHE, NGHE_THUAT) become
  group-only subjects; components list their group in ``parents``.
- Names are matched with ``search.vietnamese.match_key``: a subject's code, official name and
  aliases all resolve to it; case, diacritics, tone placement, i/y and punctuation are ignored.
"""
from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import yaml

from search.vietnamese import match_key

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_DEFAULT_RESOLVED = str(DEFAULT_DATA_DIR.resolve())
GENERAL_GRADES = tuple(str(n) for n in range(1, 13))
STATUSES = ("BB", "HD", "DP", "LC", "CD", "TC")
COMPULSORY_STATUSES = ("BB", "HD", "DP")  # môn bắt buộc, hoạt động bắt buộc, nội dung địa phương
DataDir = str | Path | None


class CurriculumDataError(ValueError):
    """A data file is missing, malformed or inconsistent; the message names file and entry."""


@dataclass(frozen=True)
class Subject:
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    components: tuple[str, ...] = ()  # for an official group: its taggable component subjects
    component_grades: tuple[str, ...] = ()  # grades in which the group is split into components
    parents: tuple[str, ...] = ()  # official groups this subject is a component of
    group_only: bool = False  # True for TIN_HOC_CONG_NGHE, NGHE_THUAT (not taught under that code)


@dataclass(frozen=True)
class Level:
    code: str
    name: str
    grades: tuple[str, ...]


@dataclass(frozen=True)
class Grade:
    code: str
    name: str  # "Lớp 7" or the age-group name
    level: str


class ProgrammeEntry(NamedTuple):
    subject: str
    status: str
    periods: int


@dataclass(frozen=True)
class SchoolType:
    code: str
    name: str
    levels: tuple[str, ...]
    grades: tuple[str, ...]
    reports_to: str
    general_education: bool


@dataclass(frozen=True)
class TextbookSeries:
    code: str
    name: str
    publisher: str | None = None
    national_set_from: str | None = None  # school year, e.g. "2026-2027"
    decision: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Licence:
    code: str
    name: str
    short: str
    open: bool
    url: str | None


@dataclass(frozen=True)
class _Dated:
    valid_from: dt.date
    valid_to: dt.date | None
    value: Any

    def active(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class Curriculum:
    """Everything loaded from one data directory (use the module functions instead)."""
    subjects: dict[str, Subject]
    alias_index: dict[str, str]  # match_key -> subject code
    levels: dict[str, Level]
    grades: dict[str, Grade]
    preschool_domains: dict[str, dict[str, str]]  # khoi -> {domain code: name}
    foreign_languages: dict[str, str]
    thpt_orientations: dict[str, dict[str, str]]
    statuses: dict[str, str]
    programme: dict[str, tuple[_Dated, ...]]  # grade -> dated ProgrammeEntry
    rules: dict[str, tuple[_Dated, ...]]  # grade -> dated {"total": .., "so_mon_chon": ..}
    future_changes: tuple[dict[str, Any], ...]
    school_types: dict[str, SchoolType]
    textbook_series: dict[str, TextbookSeries]
    material_types: dict[str, str]
    licences: dict[str, Licence]
    age_group_khoi: dict[str, str] = field(default_factory=dict)  # preschool age group -> khối


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (plain PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _fail(file: str, entry: Any, msg: str) -> NoReturn:
    raise CurriculumDataError(f"{file}: {entry}: {msg}")


def _read(data_dir: Path, file: str) -> dict[str, Any]:
    """Parse one YAML file; require a top-level mapping with ``version`` and NFC text throughout."""
    try:
        with open(data_dir / file, encoding="utf-8") as stream:
            doc = yaml.load(stream, Loader=_StrictLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CurriculumDataError(f"{file}: cannot load: {exc}") from exc
    if not isinstance(doc, dict) or "version" not in doc:
        _fail(file, "top level", "must be a mapping with a 'version' field")
    stack: list[Any] = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not unicodedata.is_normalized("NFC", item):
            _fail(file, repr(item), "text is not NFC")
    return doc


def _get(file: str, entry: Any, item: Any, key: str, kind: type = str) -> Any:
    """``item[key]``, which must exist and be of type ``kind``."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        _fail(file, entry, f"'{key}' missing or not a {kind.__name__}")
    return value


def _known(file: str, entry: Any, values: Any, known: Any, what: str) -> tuple[str, ...]:
    """Check every value of a list is a known code; return them as a tuple."""
    if not isinstance(values, list):
        _fail(file, entry, f"{what} codes must be a list")
    for value in values:
        if value not in known:
            _fail(file, entry, f"unknown {what} code {value!r}")
    return tuple(values)


def _dated(file: str, entry: str, item: Any, value: Any) -> _Dated:
    if not isinstance(item, dict):
        _fail(file, entry, "must be a mapping with valid_from")
    try:
        start = dt.date.fromisoformat(str(item["valid_from"]))
        end = dt.date.fromisoformat(str(item["valid_to"])) if item.get("valid_to") else None
    except (KeyError, ValueError) as exc:
        raise CurriculumDataError(f"{file}: {entry}: bad or missing valid_from/valid_to ({exc})") from exc
    if end is not None and end < start:
        _fail(file, entry, "valid_to is before valid_from")
    return _Dated(start, end, value)


def _no_overlap(file: str, entry: str, items: list[_Dated]) -> None:
    items = sorted(items, key=lambda d: d.valid_from)
    for a, b in zip(items, items[1:]):
        if a.valid_to is None or a.valid_to >= b.valid_from:
            _fail(file, entry, f"validity periods overlap ({a.valid_from} and {b.valid_from})")


def _load_preschool(f: str, doc: dict[str, Any]) -> tuple[dict[str, Grade], dict[str, dict[str, str]], dict[str, str]]:
    khoi = _get(f, "khoi", doc, "khoi", dict)
    ages = {}
    for code, v in _get(f, "age_groups", doc, "age_groups", dict).items():
        _known(f, code, [v.get("khoi") if isinstance(v, dict) else None], khoi, "khoi")
        ages[code] = Grade(code, _get(f, code, v, "name"), "MAM_NON")
    domains = _get(f, "development_domains", doc, "development_domains", dict)
    _known(f, "development_domains", list(domains), khoi, "khoi")
    return ages, domains, {code: v["khoi"] for code, v in doc["age_groups"].items()}


def _load_subjects(f: str, doc: dict[str, Any]) -> tuple[dict[str, Subject], dict[str, str]]:
    names, groups = _get(f, "subjects", doc, "subjects", dict), _get(f, "groups", doc, "groups", dict)
    aliases = _get(f, "aliases", doc, "aliases", dict)
    parents: dict[str, list[str]] = {}
    for code, g in groups.items():
        _get(f, f"groups.{code}", g, "name")
        for comp in _known(f, f"groups.{code}", g.get("components"), names, "subject"):
            parents.setdefault(comp, []).append(code)
        _known(f, f"groups.{code}", g.get("grades"), GENERAL_GRADES, "grade")
    _known(f, "aliases", list(aliases), {*names, *groups}, "subject")
    for code, values in aliases.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            _fail(f, f"aliases.{code}", "must be a list of names")
    _known(f, "thpt_orientations", list(_get(f, "thpt_orientations", doc, "thpt_orientations", dict)), names, "subject")
    subjects: dict[str, Subject] = {}
    index: dict[str, str] = {}
    for code in [*names, *(c for c in groups if c not in names)]:
        group, extra = groups.get(code, {}), aliases.get(code) or []
        name = _get(f, "subjects", names, code) if code in names else group["name"]
        subjects[code] = Subject(code, name, tuple(extra), tuple(group.get("components", ())),
                                 tuple(group.get("grades", ())), tuple(parents.get(code, ())), code not in names)
        for text in (code, name, group.get("name", name), *extra):
            key = match_key(str(text))
            if index.setdefault(key, code) != code:
                _fail(f, f"aliases.{code}", f"{text!r} (key {key!r}) matches two subjects: {index[key]} and {code}")
    return subjects, index


def _load_levels(f: str, doc: dict[str, Any], ages: dict[str, Grade]) -> tuple[dict[str, Level], dict[str, Grade]]:
    levels = {c: Level(c, _get(f, c, v, "name"), _known(f, c, v.get("grades"), {*GENERAL_GRADES, *ages}, "grade"))
              for c, v in _get(f, "levels", doc, "levels", dict).items()}
    grades = {g: Grade(g, f"Lớp {g}", next((lv.code for lv in levels.values() if g in lv.grades), ""))
              for g in GENERAL_GRADES}
    return levels, {**grades, **ages}


def _load_grade(f: str, grade: str, block: Any, subjects: Any, statuses: Any) -> tuple[tuple, tuple]:
    """One grade of programme.yaml: dated entries, and dated totals + THPT choice rules."""
    entries, by_key = [], {}
    for i, e in enumerate(_get(f, f"grades.{grade}", block, "entries", list)):
        where = f"grades.{grade}.entries[{i}]"
        where += f" ({e.get('subject')}/{e.get('status')})" if isinstance(e, dict) else ""
        _known(f, where, [_get(f, where, e, "subject")], subjects, "subject")
        _known(f, where, [_get(f, where, e, "status")], statuses, "status")
        periods = _get(f, where, e, "periods", int)
        entries.append(_dated(f, where, e, ProgrammeEntry(e["subject"], e["status"], periods)))
        by_key.setdefault((e["subject"], e["status"]), []).append(entries[-1])
    for (subj, status), items in by_key.items():
        _no_overlap(f, f"grades.{grade} {subj}/{status}", items)
    where = f"grades.{grade}.totals"
    totals = [_dated(f, where, t, {"total": _get(f, where, t, "periods", int)})
              for t in _get(f, where, block, "totals", list)]
    _no_overlap(f, where, totals)
    where = f"grades.{grade}.rules"
    rules = [_dated(f, where, r, {k: v for k, v in r.items() if not k.startswith("valid_")})
             if isinstance(r, dict) else _fail(f, where, "each rule must be a mapping")
             for r in block.get("rules") or []]
    _no_overlap(f, where, rules)
    return tuple(entries), tuple(totals + rules)


def _load_school_types(f: str, doc: dict[str, Any], levels: Any, grades: Any) -> dict[str, SchoolType]:
    bodies, result = _get(f, "reporting_bodies", doc, "reporting_bodies", dict), {}
    for i, st in enumerate(_get(f, "school_types", doc, "school_types", list)):
        code = _get(f, f"school_types[{i}]", st, "code")
        if code in result:
            _fail(f, code, "duplicate school type code")
        result[code] = SchoolType(
            code, _get(f, code, st, "name"), _known(f, code, st.get("cap"), levels, "level"),
            _known(f, code, st.get("lop"), grades, "grade"),
            _known(f, code, [st.get("reports_to")], bodies, "reporting body")[0],
            _get(f, code, st, "general_education", bool))
    return result


def _load(data_dir: Path) -> Curriculum:
    ages, domains, age_khoi = _load_preschool("curriculum/preschool.yaml", _read(data_dir, "curriculum/preschool.yaml"))
    f = "curriculum/subjects.yaml"
    sdoc = _read(data_dir, f)
    subjects, index = _load_subjects(f, sdoc)
    levels, grades = _load_levels(f, sdoc, ages)
    f = "curriculum/programme.yaml"
    pdoc = _read(data_dir, f)
    statuses = _get(f, "statuses", pdoc, "statuses", dict)
    _known(f, "statuses", list(statuses), STATUSES, "status")
    programme, rules = {}, {}
    for grade, block in _get(f, "grades", pdoc, "grades", dict).items():
        _known(f, "grades", [grade], GENERAL_GRADES, "grade")
        programme[grade], rules[grade] = _load_grade(f, grade, block, subjects, statuses)
    future = tuple(_get(f, "future_changes", pdoc, "future_changes", list))
    for i, item in enumerate(future):
        _get(f, f"future_changes[{i}]", item, "content")
        _known(f, f"future_changes[{i}]", [item["subject"]] if "subject" in item else [], subjects, "subject")
    school_types = _load_school_types("school_types.yaml", _read(data_dir, "school_types.yaml"), levels, grades)
    f = "textbook_series.yaml"
    series = {c: TextbookSeries(c, _get(f, c, v, "name"), v.get("publisher"), v.get("national_set_from"),
                                v.get("decision"), v.get("note"))
              for c, v in _get(f, "series", _read(data_dir, f), "series", dict).items()}
    f = "licences.yaml"
    licences = {c: Licence(c, _get(f, c, v, "name"), _get(f, c, v, "short"), _get(f, c, v, "open", bool), v.get("url"))
                for c, v in _get(f, "licences", _read(data_dir, f), "licences", dict).items()}
    f = "material_types.yaml"
    types = _get(f, "material_types", _read(data_dir, f), "material_types", dict)
    material_types = {c: _get(f, "material_types", types, c) for c in types}
    return Curriculum(subjects, index, levels, grades, domains, sdoc.get("foreign_languages") or {},
                      sdoc["thpt_orientations"], statuses, programme, rules, future, school_types, series,
                      material_types, licences, age_khoi)


@functools.lru_cache(maxsize=8)
def _load_cached(data_dir: str) -> Curriculum:
    return _load(Path(data_dir))


def load(data_dir: DataDir = None) -> Curriculum:
    """Load and validate the data directory (default ``<project>/data``); cached per resolved path."""
    if data_dir is None:  # the common case: resolving a path on every lookup costs more than the lookup
        return _load_cached(_DEFAULT_RESOLVED)
    return _load_cached(str(Path(data_dir).resolve()))


def subjects(data_dir: DataDir = None) -> list[Subject]:
    """All subjects in file order, then group-only official subjects (TIN_HOC_CONG_NGHE, NGHE_THUAT)."""
    return list(load(data_dir).subjects.values())


def subject(code: str, data_dir: DataDir = None) -> Subject | None:
    """The subject with this exact code, or None."""
    return load(data_dir).subjects.get(code)


def resolve_subject(name_or_code: str, data_dir: DataDir = None) -> str | None:
    """Map a code, official name or alias to a subject code, ignoring case, diacritics, tone
    placement, i/y spelling and punctuation ("Hóa học", "hoa hoc", "HOA_HOC" -> HOA_HOC); else None."""
    cur = load(data_dir)
    text = (name_or_code or "").strip()
    return text if text in cur.subjects else cur.alias_index.get(match_key(text))


def preschool_domains(data_dir: DataDir = None) -> dict[str, str]:
    """Development domains of the preschool programme (code -> name), over both khối; a preschool
    material is tagged with one of these where a general-education material has a subject."""
    merged: dict[str, str] = {}
    for domains in load(data_dir).preschool_domains.values():
        merged.update(domains)
    return merged


def age_group_domains(age_group: str, data_dir: DataDir = None) -> dict[str, str]:
    """The development domains (code -> name) of a preschool age group's khối; {} otherwise."""
    cur = load(data_dir)
    return dict(cur.preschool_domains.get(cur.age_group_khoi.get(age_group, ""), {}))


def levels(data_dir: DataDir = None) -> list[Level]:
    """Cấp học (MAM_NON, TIEU_HOC, THCS, THPT, and the GDTX levels) with their grade codes."""
    return list(load(data_dir).levels.values())


def grades(data_dir: DataDir = None) -> list[Grade]:
    """General grades "1".."12" ("Lớp 1"...), then preschool age groups (NT_3_12T ... MG_5_6)."""
    return list(load(data_dir).grades.values())


def is_grade_code(code: object, data_dir: DataDir = None) -> bool:
    """True for "1".."12" and the preschool age-group codes (strings only)."""
    return isinstance(code, str) and code in load(data_dir).grades


def _in_force(table: str, grade: str, on_date: dt.date | None, data_dir: DataDir) -> list[Any]:
    cur = load(data_dir)
    if grade not in cur.grades:
        raise KeyError(f"unknown grade code {grade!r}")
    on = on_date or dt.date.today()
    return [d.value for d in getattr(cur, table).get(grade, ()) if d.active(on)]


def programme(grade: str, on_date: dt.date | None = None, data_dir: DataDir = None) -> list[ProgrammeEntry]:
    """(subject, status, periods/year) in force for ``grade`` on ``on_date`` (default today), in file
    order; a subject may appear twice (BB and CD). Preschool codes give []; unknown grades KeyError."""
    return _in_force("programme", grade, on_date, data_dir)


def programme_rules(grade: str, on_date: dt.date | None = None, data_dir: DataDir = None) -> dict[str, Any]:
    """Total periods and THPT choice rules in force, e.g. {"total": 997, "so_mon_chon": 4, ...}."""
    return {k: v for rule in _in_force("rules", grade, on_date, data_dir) for k, v in rule.items()}


def compulsory_subjects(grade: str, on_date: dt.date | None = None, data_dir: DataDir = None) -> list[str]:
    """Codes with status BB, HD or DP (all compulsory for every pupil) for ``grade`` on ``on_date``."""
    return [e.subject for e in programme(grade, on_date, data_dir) if e.status in COMPULSORY_STATUSES]


def school_types(data_dir: DataDir = None) -> list[SchoolType]:
    """School types in file order."""
    return list(load(data_dir).school_types.values())


def school_type(code: str, data_dir: DataDir = None) -> SchoolType | None:
    """The school type with this code, or None."""
    return load(data_dir).school_types.get(code)


def textbook_series(data_dir: DataDir = None) -> list[TextbookSeries]:
    """Textbook series; KNTT has ``national_set_from="2026-2027"`` (QĐ 3588/QĐ-BGDĐT)."""
    return list(load(data_dir).textbook_series.values())


def material_types(data_dir: DataDir = None) -> dict[str, str]:
    """Material type code -> Vietnamese name, in file order; KHAC is "other"."""
    return dict(load(data_dir).material_types)


def licences(data_dir: DataDir = None) -> list[Licence]:
    """Licences in file order; ``open`` marks open licences (CC BY, CC BY-SA, CC0)."""
    return list(load(data_dir).licences.values())
