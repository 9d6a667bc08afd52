"""search.vietnamese: NFC, tone placement, folding, i/y spelling and match keys."""
import unicodedata

import pytest

from search.vietnamese import (
    canonical_i_y,
    fold,
    match_key,
    nfc,
    normalize_tone_placement,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_nfc_composes_decomposed_text():
    assert nfc(nfd("Tiếng Việt")) == "Tiếng Việt"
    assert nfd("Tiếng Việt") != "Tiếng Việt"


@pytest.mark.parametrize("old, new", [
    ("hóa", "hoá"), ("thủy", "thuỷ"), ("khỏe", "khoẻ"), ("òa", "oà"), ("úy", "uý"),
    ("Hóa học", "Hoá học"), ("HÓA HỌC", "HOÁ HỌC"), ("Thủy", "Thuỷ"), ("ủy ban", "uỷ ban"),
    ("hòa bình", "hoà bình"), ("khõe", "khoẽ"), ("lòe", "loè"), ("họa", "hoạ"), ("tùy", "tuỳ"),
])
def test_old_and_new_tone_placement_give_identical_output(old, new):
    assert normalize_tone_placement(old) == new
    assert normalize_tone_placement(new) == new
    assert normalize_tone_placement(nfd(old)) == new


@pytest.mark.parametrize("word", [
    "hoàng", "toán", "huỳnh", "khuyến", "quý", "quà", "của", "mùa", "thuở", "khoái", "người", "gì",
    "Đường", "xoắn", "Noël", "café", "hello",
])
def test_tone_placement_leaves_other_syllables_alone(word):
    assert normalize_tone_placement(word) == nfc(word)


def test_tone_placement_keeps_text_around_words():
    assert normalize_tone_placement("Môn: Hóa học, lớp 10 (thủy lực)!") == "Môn: Hoá học, lớp 10 (thuỷ lực)!"


def test_fold_removes_diacritics_and_maps_d_stroke():
    assert fold("Đường đến trường") == "Duong den truong"
    assert fold("ĐỊA LÍ") == "DIA LI"
    assert fold("Tiếng Việt, Hoá học, Ngữ văn, Ơ Ư ă â ê ô") == "Tieng Viet, Hoa hoc, Ngu van, O U a a e o"


def test_fold_nfd_input_equals_nfc_input():
    text = "Giáo dục quốc phòng và an ninh – Đà Nẵng"
    assert fold(nfd(text)) == fold(text) == "Giao duc quoc phong va an ninh – Da Nang"
    assert match_key(nfd(text)) == match_key(text)


@pytest.mark.parametrize("folded, expected", [
    ("ly", "li"), ("my thuat", "mi thuat"), ("ky thuat", "ki thuat"), ("si quan sy", "si quan si"),
    ("ty le", "ti le"), ("hy sinh", "hi sinh"), ("vat Ly", "vat Li"), ("MY", "MI"), ("ly-do", "li-do"),
])
def test_canonical_i_y_rewrites_lone_final_y(folded, expected):
    assert canonical_i_y(folded) == expected


@pytest.mark.parametrize("folded", [
    "quy", "tuy", "uy ban", "thuy", "hay", "may", "tay", "key", "y te", "thy", "lyo", "kyx",
])
def test_canonical_i_y_leaves_other_y_alone(folded):
    assert canonical_i_y(folded) == folded


@pytest.mark.parametrize("a, b", [
    ("Hoá học", "Hóa học"), ("Hoá học", "hoa hoc"), ("Hoá học", "HOA_HOC"), ("Mĩ thuật", "Mỹ thuật"),
    ("Vật lí", "Vật lý"), ("Lí", "Lý"), ("Địa lí", "dia ly"), ("kĩ thuật", "kỹ thuật"), ("tỉ lệ", "tỷ lệ"),
    ("sĩ quan", "sỹ quan"), ("HĐTN-HN", "HĐTN, HN"), ("Sử - Địa", "sử  địa"), ("  Toán ", "toán"),
])
def test_match_key_equivalences(a, b):
    assert match_key(a) == match_key(b)


def test_match_key_values():
    assert match_key("Hoá  học") == "hoa hoc"
    assert match_key("GDKT&PL") == "gdkt pl"
    assert match_key("Mỹ thuật") == "mi thuat"
    assert match_key("Quý, Tuỳ") == "quy tuy"
    assert match_key("Đạo đức") == "dao duc"


def test_match_key_keeps_distinct_words_distinct():
    assert match_key("quy") == "quy" and match_key("tuy") == "tuy"
    assert match_key("Lịch sử") != match_key("Lịch sử và Địa lí")
    assert match_key("mà") == match_key("má") == "ma"  # folding is lossy by design
