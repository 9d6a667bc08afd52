"""The analyzer, query reading, Vietnamese collation, highlighting and the log cursor."""
import pytest

from search.analysis import query_words, vietnamese_analyzer
from search.applier import GAP_SECONDS, Cursor
from search.collation import sort_key
from search.highlight import highlight


def keys(text: str) -> list[str]:
    return [t.text for t in vietnamese_analyzer()(text)]


@pytest.mark.parametrize("a, b", [("Địa lí", "địa lý"), ("Hoá học", "hóa học"), ("Mĩ thuật", "Mỹ thuật"),
                                  ("Kĩ thuật", "kỹ thuật"), ("THỦY", "thuỷ")])
def test_spelling_variants_index_identically(a, b):
    assert keys(a) == keys(b)


def test_folded_accented_and_bigram_keys():
    assert keys("Phương trình") == ["phuong", "phương", "trinh", "trình", "phuong_trinh"]
    assert keys("dia li") == ["dia", "li", "dia_li"]


def test_query_words_fold_and_keep_typed_diacritics():
    words = query_words("Phương trinh")
    assert [(w.folded, w.accented) for w in words] == [("phuong", "phương"), ("trinh", None)]


@pytest.mark.parametrize("junk", ['"unbalanced', "a) OR (b", "*?~^:[]{}", "x" * 2000, "😀🎉", "\x00\x1b\x7f",
                                  "AND OR NOT", "\\", "'; DROP TABLE materials; --"])
def test_any_text_reads_as_words_without_error(junk):
    words = query_words(junk)
    assert len(words) <= 10
    assert all(w.folded and len(w.folded) <= 40 for w in words)


def test_vietnamese_alphabetical_order():
    titles = ["Đường tròn", "Ôn tập", "Ăn uống", "Bài 1", "An toàn", "Âm nhạc", "Dấu câu", "Em yêu", "Ê-đê",
              "Ơn thầy", "Ong mật", "Zà", "Ưu tiên", "Uống nước"]
    assert sorted(titles, key=sort_key) == ["An toàn", "Ăn uống", "Âm nhạc", "Bài 1", "Dấu câu", "Đường tròn",
                                            "Em yêu", "Ê-đê", "Ong mật", "Ôn tập", "Ơn thầy", "Uống nước",
                                            "Ưu tiên", "Zà"]
    assert sorted(["mạ", "má", "mã", "mả", "mà", "ma"], key=sort_key) == ["ma", "mà", "mả", "mã", "má", "mạ"]


def test_highlight_marks_words_and_escapes_everything_else():
    html = str(highlight("<b>Phương</b> trình & bậc hai", query_words("phuong trinh"), whole=True))
    assert html == "&lt;b&gt;<mark>Phương</mark>&lt;/b&gt; <mark>trình</mark> &amp; bậc hai"
    assert highlight("Hình học", query_words("đại số")) is None


def test_highlight_snippet_is_cut_around_the_first_match():
    text = "mở đầu " * 100 + "phương trình bậc hai" + " kết thúc" * 100
    html = str(highlight(text, query_words("phuong trinh")))
    assert "<mark>phương</mark>" in html and html.startswith("…") and html.endswith("…")
    assert len(html) < 400


def test_cursor_waits_for_an_uncommitted_gap_then_gives_up_on_it():
    cursor = Cursor(low=10)
    cursor.mark([11, 13], now=1000.0)
    assert cursor.low == 11 and cursor.seen == {13}  # 12 may still commit
    cursor.mark([], now=1000.0 + GAP_SECONDS - 1)
    assert cursor.low == 11
    cursor.mark([12], now=1001.0)
    assert cursor.low == 13 and not cursor.seen
    cursor.mark([15], now=2000.0)
    cursor.mark([], now=2000.0 + GAP_SECONDS + 1)
    assert cursor.low == 15  # 14 never committed (rolled back): skipped after the timeout
