"""Recognising Vietnamese text saved as Windows-1258 or TCVN3, so an import can say what went wrong."""
from __future__ import annotations

import unicodedata

import pytest

from repository.legacy_text import (
    TCVN3,
    TCVN3_LOWER,
    WINDOWS_1258,
    decode_tcvn3,
    guess_legacy_encoding,
)
from tests.helpers import encode_cp1258, encode_tcvn3

TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
TCVN3_ENCODE = {letter: byte for byte, letter in TCVN3_LOWER.items()}

SENTENCES = [
    "Trường Trung học cơ sở Hoa Lư, phường Hoa Lư, tỉnh Ninh Bình",
    "Kế hoạch bài dạy môn Ngữ văn lớp 7, học kỳ một năm học 2025-2026",
    "Giáo viên tổ Khoa học tự nhiên nộp bài giảng điện tử trước thứ sáu",
    "Nguyễn Thị Hương, Trần Văn Đức, Lê Quốc Việt",
    "code,name,type,unit_code\nTHCS09,Trường THCS Đinh Tiên Hoàng,THCS,14329\n",
]



def test_encoders_produce_what_utf8_refuses() -> None:
    for sentence in SENTENCES:
        for data in (encode_cp1258(sentence), encode_tcvn3(sentence.lower())):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
    # The Windows-1258 sample really separates the tone marks and reads back as the sentence.
    sample = encode_cp1258("Việt")
    assert sample == b"Vi\xea\xf2t"
    assert unicodedata.normalize("NFC", sample.decode("cp1258")) == "Việt"


@pytest.mark.parametrize("sentence", SENTENCES)
def test_windows_1258_sentences_are_recognised(sentence: str) -> None:
    assert guess_legacy_encoding(encode_cp1258(sentence)) == WINDOWS_1258


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tcvn3_sentences_are_recognised(sentence: str) -> None:
    assert guess_legacy_encoding(encode_tcvn3(sentence.lower())) == TCVN3


def test_a_whole_windows_1258_file_is_recognised() -> None:
    data = encode_cp1258("\r\n".join(SENTENCES))
    assert guess_legacy_encoding(data) == WINDOWS_1258


def test_a_whole_tcvn3_file_is_recognised() -> None:
    data = encode_tcvn3("\r\n".join(SENTENCES).lower())
    assert guess_legacy_encoding(data) == TCVN3


@pytest.mark.parametrize("sentence", SENTENCES)
def test_decode_tcvn3_round_trip(sentence: str) -> None:
    text = sentence.lower()
    decoded = decode_tcvn3(encode_tcvn3(text))
    assert decoded == text
    assert unicodedata.is_normalized("NFC", decoded)


def test_decode_tcvn3_covers_every_lower_case_vietnamese_letter() -> None:
    letters = "ăâêôơưđ" + "".join(
        unicodedata.normalize("NFC", vowel + mark) for vowel in "aăâeêioôơuưy" for mark in TONE_MARKS
    )
    assert decode_tcvn3(encode_tcvn3(letters)) == letters
    assert len(TCVN3_LOWER) == len(set(TCVN3_LOWER.values())) == len(letters)


def test_decode_tcvn3_keeps_ascii_as_is() -> None:
    assert decode_tcvn3(b"THCS01,14329;a-z 0-9\r\n") == "THCS01,14329;a-z 0-9\r\n"


@pytest.mark.parametrize("data", [
    b"",
    b"code,name,type,unit_code\nTHCS01,Truong THCS Hoa Lu,THCS,14329\n",
    "Café crème brûlée, naïve façade".encode("latin-1"),
    "Müller, Größe, Straße, Übung".encode("latin-1"),
    "Señor Muñoz, año, España".encode("latin-1"),
    "Ærø, Øster, Ålesund".encode("latin-1"),
])
def test_ascii_and_non_vietnamese_latin1_do_not_claim_windows_1258(data: bytes) -> None:
    assert guess_legacy_encoding(data) != WINDOWS_1258


def test_plain_ascii_claims_nothing() -> None:
    assert guess_legacy_encoding(b"email,full_name\nan@example.org,Nguyen Van An\n") is None
