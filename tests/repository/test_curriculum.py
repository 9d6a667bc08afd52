"""repository.curriculum: the versioned curriculum data files and their loader."""
import datetime as dt
import shutil
import unicodedata
from pathlib import Path

import pytest

from repository import curriculum as cur
from repository.curriculum import CurriculumDataError

DATA = Path(cur.__file__).resolve().parent.parent / "data"
TODAY = dt.date(2025, 9, 5)

# DOMAIN.md §7 "grades" (anchors expanded); THPT as amended by TT 13/2022.
TH45 = {"BB": {"TIENG_VIET": 245, "TOAN": 175, "NGOAI_NGU_1": 140, "DAO_DUC": 35, "LS_DL": 70, "KHOA_HOC": 70,
               "TIN_HOC": 35, "CONG_NGHE": 35, "GDTC": 70, "AM_NHAC": 35, "MI_THUAT": 35},
        "HD": {"HDTN": 105}, "TC": {"TIENG_DTTS": 70}}
THCS = {"BB": {"NGU_VAN": 140, "TOAN": 140, "NGOAI_NGU_1": 105, "GDCD": 35, "LS_DL": 105, "KHTN": 140,
               "CONG_NGHE": 35, "TIN_HOC": 35, "GDTC": 70, "AM_NHAC": 35, "MI_THUAT": 35},
        "HD": {"HDTN_HN": 105}, "DP": {"GDDP": 35}, "TC": {"TIENG_DTTS": 105, "NGOAI_NGU_2": 105}}
THCS89 = {**THCS, "BB": {**THCS["BB"], "CONG_NGHE": 52}}
ELECTIVES = ["DIA_LI", "GDKTPL", "VAT_LI", "HOA_HOC", "SINH_HOC", "CONG_NGHE", "TIN_HOC", "AM_NHAC", "MI_THUAT"]
CD_SUBJECTS = ["NGU_VAN", "TOAN", "LICH_SU", *ELECTIVES]
THPT = {"BB": {"NGU_VAN": 105, "TOAN": 105, "NGOAI_NGU_1": 105, "LICH_SU": 52, "GDTC": 70, "GDQPAN": 35},
        "HD": {"HDTN_HN": 105}, "DP": {"GDDP": 35}, "LC": {s: 70 for s in ELECTIVES},
        "CD": {s: 35 for s in CD_SUBJECTS}, "TC": {"TIENG_DTTS": 105, "NGOAI_NGU_2": 105}}
DOMAIN_GRADES = {
    "1": {"BB": {"TIENG_VIET": 420, "TOAN": 105, "DAO_DUC": 35, "TU_NHIEN_XA_HOI": 70, "GDTC": 70, "AM_NHAC": 35,
                 "MI_THUAT": 35}, "HD": {"HDTN": 105}, "TC": {"TIENG_DTTS": 70, "NGOAI_NGU_1": 70}},
    "2": {"BB": {"TIENG_VIET": 350, "TOAN": 175, "DAO_DUC": 35, "TU_NHIEN_XA_HOI": 70, "GDTC": 70, "AM_NHAC": 35,
                 "MI_THUAT": 35}, "HD": {"HDTN": 105}, "TC": {"TIENG_DTTS": 70, "NGOAI_NGU_1": 70}},
    "3": {"BB": {"TIENG_VIET": 245, "TOAN": 175, "NGOAI_NGU_1": 140, "DAO_DUC": 35, "TU_NHIEN_XA_HOI": 70,
                 "TIN_HOC": 35, "CONG_NGHE": 35, "GDTC": 70, "AM_NHAC": 35, "MI_THUAT": 35},
          "HD": {"HDTN": 105}, "TC": {"TIENG_DTTS": 70}},
    "4": TH45, "5": TH45, "6": THCS, "7": THCS, "8": THCS89, "9": THCS89, "10": THPT, "11": THPT, "12": THPT,
}
DOMAIN_TOTALS = {"1": 875, "2": 875, "3": 980, "4": 1050, "5": 1050, "6": 1015, "7": 1015, "8": 1032, "9": 1032,
                 "10": 997, "11": 997, "12": 997}


def as_table(entries):
    table = {}
    for e in entries:
        assert e.subject not in table.get(e.status, {}), f"{e.subject}/{e.status} listed twice"
        table.setdefault(e.status, {})[e.subject] = e.periods
    return table


# --- subjects and aliases -------------------------------------------------------------------

@pytest.mark.parametrize("text, code", [
    ("Hoá học", "HOA_HOC"), ("Hóa học", "HOA_HOC"), ("hoa hoc", "HOA_HOC"), ("HOA_HOC", "HOA_HOC"),
    ("Hoá", "HOA_HOC"), ("hóa", "HOA_HOC"),
    ("Mĩ thuật", "MI_THUAT"), ("Mỹ thuật", "MI_THUAT"), ("my thuat", "MI_THUAT"),
    ("Lí", "VAT_LI"), ("Lý", "VAT_LI"), ("Vật lý", "VAT_LI"), ("vật lí", "VAT_LI"), ("Địa lý", "DIA_LI"),
    ("Địa lí", "DIA_LI"), ("Tiếng Anh", "NGOAI_NGU_1"), ("Tin học", "TIN_HOC"), ("Sử - Địa", "LS_DL"),
    ("Lịch sử và Địa lý", "LS_DL"), ("Sử", "LICH_SU"), ("Văn", "NGU_VAN"), ("GDKT&PL", "GDKTPL"),
    ("GDQP&AN", "GDQPAN"), ("GDQP", "GDQPAN"), ("HĐTN-HN", "HDTN_HN"), ("HĐTN, HN", "HDTN_HN"),
    ("Tin học - Công nghệ", "TIN_HOC_CONG_NGHE"), ("Nghệ thuật", "NGHE_THUAT"), ("  toán ", "TOAN"),
    ("Giáo dục thể chất", "GDTC"), ("Hoạt động trải nghiệm", "HDTN"),
])
def test_resolve_subject(text, code):
    assert cur.resolve_subject(text) == code


@pytest.mark.parametrize("text", ["", "   ", "Thiên văn học", "Hoá sinh", "XYZ"])
def test_resolve_subject_unknown_gives_none(text):
    assert cur.resolve_subject(text) is None


def test_every_domain_subject_is_listed_with_its_official_name():
    names = {s.code: s.name for s in cur.subjects()}
    assert len([s for s in cur.subjects() if not s.group_only]) == 27
    assert names["HOA_HOC"] == "Hoá học" and names["MI_THUAT"] == "Mĩ thuật" and names["LS_DL"] == "Lịch sử và Địa lí"
    for s in cur.subjects():
        assert cur.resolve_subject(s.name) == s.code
        assert cur.resolve_subject(s.code) == s.code
        assert all(cur.resolve_subject(alias) == s.code for alias in s.aliases)


def test_official_groups_and_components():
    ths = cur.subject("TIN_HOC_CONG_NGHE")
    assert ths.group_only and ths.components == ("TIN_HOC", "CONG_NGHE") and ths.component_grades == ("3", "4", "5")
    assert cur.subject("NGHE_THUAT").components == ("AM_NHAC", "MI_THUAT")
    lsdl = cur.subject("LS_DL")
    assert not lsdl.group_only and lsdl.components == ("LICH_SU", "DIA_LI")
    assert lsdl.component_grades == ("6", "7", "8", "9")
    assert cur.subject("MI_THUAT").parents == ("NGHE_THUAT",)
    assert cur.subject("TOAN").parents == ()
    assert cur.subject("NOPE") is None


def test_foreign_languages_and_thpt_orientations():
    c = cur.load()
    assert c.foreign_languages["ANH"] == "Tiếng Anh" and len(c.foreign_languages) == 7
    assert set(c.thpt_orientations) == {"CONG_NGHE", "TIN_HOC"}
    assert set(c.thpt_orientations["TIN_HOC"]) == {"ICT", "CS"}


# --- grades and levels ----------------------------------------------------------------------

def test_grades_general_then_preschool():
    codes = [g.code for g in cur.grades()]
    preschool = ["NT_3_12T", "NT_12_24T", "NT_24_36T", "MG_3_4", "MG_4_5", "MG_5_6"]
    assert codes == [str(n) for n in range(1, 13)] + preschool
    by_code = {g.code: g for g in cur.grades()}
    assert by_code["1"].name == "Lớp 1" and by_code["1"].level == "TIEU_HOC"
    assert by_code["7"].level == "THCS" and by_code["12"].level == "THPT"
    assert by_code["MG_5_6"].name == "Mẫu giáo 5–6 tuổi (lớp Lá/Lớn)" and by_code["MG_5_6"].level == "MAM_NON"


@pytest.mark.parametrize("code, ok", [
    ("1", True), ("12", True), ("MG_3_4", True), ("NT_3_12T", True),
    ("0", False), ("13", False), ("01", False), (7, False), ("lop 1", False), ("", False),
])
def test_is_grade_code(code, ok):
    assert cur.is_grade_code(code) is ok


def test_levels():
    levels = {lv.code: lv for lv in cur.levels()}
    assert levels["TIEU_HOC"].grades == ("1", "2", "3", "4", "5")
    assert levels["THCS"].grades == ("6", "7", "8", "9")
    assert levels["THPT"].grades == ("10", "11", "12")
    assert levels["MAM_NON"].grades[0] == "NT_3_12T" and len(levels["MAM_NON"].grades) == 6


def test_preschool_domains_per_khoi():
    domains = cur.load().preschool_domains
    assert set(domains) == {"nha_tre", "mau_giao"}
    assert "PT_THAM_MI" in domains["mau_giao"] and "PT_TC_KNXH_TM" in domains["nha_tre"]


# --- programme ------------------------------------------------------------------------------

@pytest.mark.parametrize("grade", [str(n) for n in range(1, 13)])
def test_programme_matches_domain_tables(grade):
    assert as_table(cur.programme(grade, TODAY)) == DOMAIN_GRADES[grade]


@pytest.mark.parametrize("grade", [str(n) for n in range(1, 13)])
def test_totals_match_sum_of_periods(grade):
    rules = cur.programme_rules(grade, TODAY)
    assert rules["total"] == DOMAIN_TOTALS[grade]
    table = as_table(cur.programme(grade, TODAY))
    compulsory = sum(sum(table.get(s, {}).values()) for s in ("BB", "HD", "DP"))
    chosen = rules.get("so_mon_chon", 0) * 70 + rules.get("so_cum_chon", 0) * rules.get("tiet_moi_cum", 0)
    assert compulsory + chosen == rules["total"]


def test_programme_spot_checks():
    assert ("TIENG_VIET", "BB", 420) in cur.programme("1", TODAY)
    assert ("CONG_NGHE", "BB", 52) in cur.programme("8", TODAY)
    assert cur.programme("4", TODAY) == cur.programme("5", TODAY)
    assert cur.programme("6", TODAY) == cur.programme("7", TODAY)
    assert cur.programme("8", TODAY) == cur.programme("9", TODAY)
    assert cur.programme("10", TODAY) == cur.programme("11", TODAY) == cur.programme("12", TODAY)


def test_lich_su_became_compulsory_with_tt_13_2022():
    before, change = dt.date(2022, 8, 2), dt.date(2022, 8, 3)
    for grade in ("10", "11", "12"):
        assert ("LICH_SU", "LC", 70) in cur.programme(grade, before)
        assert ("LICH_SU", "BB", 52) not in cur.programme(grade, before)
        assert ("LICH_SU", "BB", 52) in cur.programme(grade, change)
        assert ("LICH_SU", "LC", 70) not in cur.programme(grade, change)
        assert "LICH_SU" not in cur.compulsory_subjects(grade, before)
        assert "LICH_SU" in cur.compulsory_subjects(grade, change)
    assert cur.programme_rules("10", before)["so_mon_chon"] == 5
    assert cur.programme_rules("10", before)["total"] == 1015
    assert cur.programme_rules("10", change) == {"total": 997, "so_mon_chon": 4, "so_cum_chon": 3, "tiet_moi_cum": 35,
                                                 "ma_cum": "CD_<MON>"}


def test_programme_before_tt_32_is_empty_and_default_date_is_today():
    assert cur.programme("1", dt.date(2018, 12, 25)) == []
    assert cur.programme("10") == cur.programme("10", dt.date.today())


def test_compulsory_subjects():
    assert cur.compulsory_subjects("1", TODAY) == ["TIENG_VIET", "TOAN", "DAO_DUC", "TU_NHIEN_XA_HOI", "GDTC",
                                                   "AM_NHAC", "MI_THUAT", "HDTN"]
    assert "NGOAI_NGU_1" not in cur.compulsory_subjects("2", TODAY)  # QĐ 2371 roadmap is only a note
    assert "NGOAI_NGU_1" in cur.compulsory_subjects("3", TODAY)
    assert "GDDP" in cur.compulsory_subjects("6", TODAY)
    assert "VAT_LI" not in cur.compulsory_subjects("10", TODAY)


def test_preschool_and_unknown_grades():
    assert cur.programme("MG_5_6", TODAY) == []
    with pytest.raises(KeyError):
        cur.programme("13", TODAY)


def test_future_changes_are_notes_without_dates():
    notes = cur.load().future_changes
    english = [n for n in notes if "2371" in n["document"]]
    assert english and english[0]["subject"] == "NGOAI_NGU_1"
    assert all("valid_from" not in n for n in notes)


# --- school types, series, material types, licences -----------------------------------------

def test_school_types():
    types = cur.school_types()
    assert len(types) == 11
    for st in types:
        assert st.grades and all(cur.is_grade_code(g) for g in st.grades), st.code
        assert st.reports_to in {"UBND_XA", "SO_GDDT"}
        assert st.general_education is (st.code not in {"MN", "NHOM_LOP_DOC_LAP"})
    assert cur.school_type("THPT").reports_to == "SO_GDDT" and cur.school_type("THPT").grades == ("10", "11", "12")
    assert cur.school_type("THCS").reports_to == "UBND_XA"
    assert cur.school_type("MN").levels == ("MAM_NON",) and "MG_5_6" in cur.school_type("MN").grades
    assert cur.school_type("NOPE") is None


def test_textbook_series():
    series = {s.code: s for s in cur.textbook_series()}
    assert set(series) == {"KNTT", "CTST", "CD", "CUNG_HOC", "VI_BINH_DANG", "KHAC"}
    assert series["CD"].name == "Cánh Diều"
    assert series["KNTT"].national_set_from == "2026-2027" and "3588" in series["KNTT"].decision
    assert [s.code for s in series.values() if s.national_set_from] == ["KNTT"]


def test_material_types_and_licences():
    types = cur.material_types()
    assert types["KHAC"] == "Khác" and types["BAI_GIANG_DIEN_TU"] == "Bài giảng điện tử" and len(types) == 16
    lic = {x.code: x for x in cur.licences()}
    assert set(lic) == {"CC_BY_4", "CC_BY_SA_4", "CC_BY_NC_4", "CC_BY_NC_SA_4", "CC_BY_ND_4", "CC0",
                        "ALL_RIGHTS_SCHOOL"}
    assert {c for c, x in lic.items() if x.open} == {"CC_BY_4", "CC_BY_SA_4", "CC0"}
    assert lic["ALL_RIGHTS_SCHOOL"].name == "Bảo lưu mọi quyền (thuộc nhà trường)"
    assert lic["ALL_RIGHTS_SCHOOL"].url is None
    assert all(x.url.startswith("https://creativecommons.org/") for x in lic.values() if x.code.startswith("CC"))


def test_data_files_are_nfc_and_versioned():
    for path in DATA.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), path
        assert "\nversion:" in text and "\nsource:" in text, path


# --- loading and validation -----------------------------------------------------------------

def test_load_is_cached_per_data_dir(tmp_path):
    assert cur.load() is cur.load(DATA) is cur.load(str(DATA))
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    assert cur.load(copy) is not cur.load()
    assert cur.resolve_subject("Hóa", data_dir=copy) == "HOA_HOC"


def broken(tmp_path, file, old, new):
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize("file, old, new, message", [
    ("curriculum/programme.yaml", "{subject: TOAN, status: BB, periods: 105",
     "{subject: TOAN_HOC, status: BB, periods: 105", "entries[1] (TOAN_HOC/BB): unknown subject code 'TOAN_HOC'"),
    ("curriculum/programme.yaml", "{subject: TOAN, status: BB, periods: 105",
     "{subject: TOAN, status: XX, periods: 105", "unknown status code 'XX'"),
    ("curriculum/programme.yaml", 'periods: 420, valid_from: "2018-12-26"', 'periods: 420, valid_from: "26/12/2018"',
     "valid_from"),
    ("curriculum/programme.yaml", 'status: LC, periods: 70, valid_from: "2018-12-26", valid_to: "2022-08-02"',
     'status: BB, periods: 70, valid_from: "2018-12-26", valid_to: "2022-08-03"',
     "grades.10 LICH_SU/BB: validity periods overlap"),
    ("curriculum/programme.yaml", '  "12":', '  "13":', "unknown grade code '13'"),
    ("curriculum/subjects.yaml", 'VAT_LI: ["Vật lí"', 'VAT_LI: ["Hóa", "Vật lí"',
     "(key 'hoa') matches two subjects: VAT_LI and HOA_HOC"),
    ("curriculum/subjects.yaml", 'SINH_HOC: ["Sinh"]', 'SINH_HOC: ["Sinh"]\n  KHOA_HOC_MAY_TINH: ["KHMT"]',
     "unknown subject code 'KHOA_HOC_MAY_TINH'"),
    ("curriculum/subjects.yaml", "components: [AM_NHAC, MI_THUAT]", "components: [AM_NHAC, MY_THUAT]",
     "groups.NGHE_THUAT: unknown subject code 'MY_THUAT'"),
    ("curriculum/subjects.yaml", '  TOAN: "Toán"\n', '  TOAN: "Toán"\n  TOAN: "Toán học"\n', "duplicate key 'TOAN'"),
    ("curriculum/subjects.yaml", 'HOA_HOC: "Hoá học"', 'HOA_HOC: "Hoa\u0301 học"', "not NFC"),
    ("school_types.yaml", "  - code: THPT_CHUYEN", "  - code: THPT", "THPT: duplicate school type code"),
    ("school_types.yaml", 'lop: ["10", "11", "12"]', "lop: [10, 11, 12]", "unknown grade code 10"),
    ("school_types.yaml", "reports_to: UBND_XA", "reports_to: UBND_TINH", "unknown reporting body code 'UBND_TINH'"),
    ("material_types.yaml", '  VIDEO: "Video"\n', '  VIDEO: "Video"\n  VIDEO: "Phim"\n', "duplicate key 'VIDEO'"),
    ("licences.yaml", "    open: true", "    open: yes please", "'open' missing or not a bool"),
    ("curriculum/preschool.yaml", "{name: \"Mẫu giáo 3–4 tuổi (lớp Mầm/Bé)\", khoi: mau_giao}",
     "{name: \"Mẫu giáo 3–4 tuổi (lớp Mầm/Bé)\", khoi: mau_giao", "cannot load"),
])
def test_validation_errors_name_file_and_entry(tmp_path, file, old, new, message):
    data_dir = broken(tmp_path, file, old, new)
    with pytest.raises(CurriculumDataError) as err:
        cur.load(data_dir)
    assert str(err.value).startswith(file + ":")
    assert message in str(err.value)


def test_missing_file_is_a_data_error(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    (copy / "licences.yaml").unlink()
    with pytest.raises(CurriculumDataError, match="licences.yaml: cannot load"):
        cur.load(copy)
