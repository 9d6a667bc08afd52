"""Legacy-encoding detection and text cleaning, in-process."""
from __future__ import annotations

import unicodedata

from repository.processing import textnorm

LOWER = "trường học ở hà nội, giáo dục đào tạo, bài giảng điện tử"


def test_font_hints():
    assert textnorm.font_hint(".VnTime") == "tcvn3"
    assert textnorm.font_hint(".VnArialH") == "tcvn3_upper"
    assert textnorm.font_hint("VNI-Times") == "vni"
    assert textnorm.font_hint("Times New Roman") is None
    assert textnorm.font_hint(None) is None


def test_tcvn3_round_trip_and_capitals(tcvn3):
    mojibake = tcvn3(LOWER).decode("latin-1")
    assert textnorm.looks_tcvn3(mojibake)
    assert textnorm.tcvn3_to_unicode(mojibake) == LOWER
    assert textnorm.tcvn3_to_unicode("\xa7\xb9i h\xe4c") == "Đại học"  # § is TCVN3 "Đ"
    assert textnorm.tcvn3_to_unicode(mojibake, upper=True) == LOWER.upper()
    assert textnorm.tcvn3_to_unicode(mojibake + " \u201cok\u201d").endswith("\u201cok\u201d")


def test_unicode_vietnamese_and_other_languages_are_not_legacy():
    for text in [LOWER, "Bài giảng Hoá học lớp 10 — Đường thẳng", "Ça va? Noël à Paris, naïve café",
                 "Schöne Grüße aus München, für die Übung", "© 2024 Sở GD&ĐT · ½ điểm"]:
        assert not textnorm.looks_tcvn3(text), text
        assert not textnorm.looks_vni(text), text


def test_vni_detected_but_not_tcvn3():
    vni = "Vieät Nam laø ñaát nöôùc coù nhieàu tröôøng hoïc"
    assert textnorm.looks_vni(vni)
    assert not textnorm.looks_tcvn3(vni)


def test_finalize_converts_only_unambiguous_text(tcvn3):
    mojibake = tcvn3(LOWER).decode("latin-1")
    assert textnorm.finalize([(mojibake, None)], max_chars=1000) == (LOWER, ["legacy_tcvn3_converted"])
    # Real Unicode Vietnamese next to the mojibake: converting would damage it, so only flag.
    text, flags = textnorm.finalize([("Người Việt ", None), (mojibake, None)], max_chars=1000)
    assert text.startswith("Người Việt ") and flags == ["legacy_encoding_suspected"]
    # A run known to be in .VnTime is converted even next to Unicode text.
    text, flags = textnorm.finalize([("Người Việt ", None), (mojibake, "tcvn3")], max_chars=1000)
    assert text == "Người Việt " + LOWER and flags == ["legacy_tcvn3_converted"]
    # Unicode typed into a .VnTime run (letters beyond Latin-1) is left alone.
    assert textnorm.finalize([("Người Việt", "tcvn3")], max_chars=100) == ("Người Việt", [])


def test_finalize_cleans_and_caps():
    raw = unicodedata.normalize("NFD", "  Đường\u00a0\u00a0thẳng\x00\x07\r\n\n\n\tsong   song \ufeff")
    assert textnorm.finalize([(raw, None)], max_chars=100) == ("Đường thẳng\nsong song", [])
    text, flags = textnorm.finalize([("học sinh " * 100, None)], max_chars=50)
    assert len(text) <= 50 and text.startswith("học sinh") and flags == ["truncated"]
    assert text.split()[-1] in ("học", "sinh")  # cut at a space, not inside a word
    assert textnorm.finalize([(" \n ", None)], max_chars=10) == ("", ["no_text"])
