"""An encoding refusal or warning names the line and column of the byte, as the reader numbers
lines (a lone CR ends one) and as the header names columns (a quoted value may hold commas and
line breaks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.formats.encoding import (
    EncodingDecision,
    EncodingRefused,
    Place,
    decide_encoding,
    locate,
)

HEADER = b"sourcedId,givenName,familyName\n"


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    return path


# (what the file shows, its bytes, where the byte that is not UTF-8 is)
PLACES = [
    ("a byte by line and column", HEADER + b"s1,Ann,Lee\ns2,Bo,Ba\xe9\n", Place(3, "familyName")),
    ("commas inside quotes", HEADER + b's1,"Lee, Ann",Ba\xe9\n', Place(2, "familyName")),
    ("a line break inside quotes", HEADER + b's1,"Ann\nMarie",B\xe9\n', Place(3, "familyName")),
    (
        "lone carriage returns end lines",
        HEADER.replace(b"\n", b"\r") + b"s1,Ann,Lee\rs2,B\xe9,Ba\r",
        Place(3, "givenName"),
    ),
    ("past the header's columns", HEADER + b"s1,Ann,Lee,extra\xe9\n", Place(2, None)),
    (
        "a quote inside an unquoted value is text",
        HEADER + b"s1,Ann,Lee\ns2,5'10\",Ba\xe9\n",
        Place(3, "familyName"),
    ),
    (
        "such a quote rows before opens no value",
        HEADER + b"s1,Ann,5'10\"\ns2,Bo,Ba\ns3,Cy,Ca\xe9\n",
        Place(4, "familyName"),
    ),
    (
        "a header and rows written a, b style",
        b'"sourcedId", "givenName", "familyName"\n"s1", "Lee, Ann", "Ba\xe9"\n',
        Place(2, "familyName"),
    ),
    (
        "a header name in UTF-8",
        "\ufeffsourcedId,prénom\n".encode() + b"s1,Zo\xeb\n",
        Place(2, "prénom"),
    ),
]


def _first_not_utf8(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    raise AssertionError("every byte is UTF-8")


@pytest.mark.parametrize(("data", "place"), [p[1:] for p in PLACES], ids=[p[0] for p in PLACES])
def test_the_first_byte_that_is_not_utf8_is_placed(tmp_path, data, place):
    assert locate(_file(tmp_path, data), _first_not_utf8(data)) == place


def test_a_converted_file_says_where_its_first_other_byte_is(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,Lee\ns2,Zo\xeb,Ba\n")
    decision = decide_encoding(path)
    assert decision.encoding == "cp1252" and decision.first_bad == Place(3, "givenName")


def test_a_byte_windows_1252_lacks_is_placed_where_it_is(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Zo\xeb,Lee\ns2,Bo,Ba\x81\n")
    with pytest.raises(EncodingRefused, match=r"users.csv line 3, column familyName: is neither"):
        decide_encoding(path)


def test_a_utf8_character_cut_by_a_chunk_still_marks_the_file_as_mixed(tmp_path, monkeypatch):
    import daemon.formats.encoding as encoding

    data = HEADER + b"s1,Zo\xeb,Lee\ns2,Jos" + "é".encode() + b",Ba\n"
    monkeypatch.setattr(encoding, "CHUNK", data.index("é".encode()) + 1)  # the é cut in two
    with pytest.raises(EncodingRefused, match="mixes UTF-8 with another encoding"):
        decide_encoding(_file(tmp_path, data))


def test_a_file_ending_inside_a_character_is_utf8_cut_there(tmp_path):
    """Its last bytes begin a character, with no line end: a file cut short (ingest/load.py)."""
    data = HEADER + "s1,Zoë,Lee\ns2,Jos".encode() + "€".encode()[:2]
    decision = decide_encoding(_file(tmp_path, data))
    assert decision == EncodingDecision("utf-8", cut_at=len(data) - 2)


def test_a_stray_byte_ending_a_file_is_no_cut_character(tmp_path):
    """A byte that can begin no character is not UTF-8: the file mixes encodings."""
    data = HEADER + "s1,Zoë,Lee\ns2,Jos".encode() + b"\xbf"
    with pytest.raises(EncodingRefused, match=r"users\.csv line 3, column givenName: mixes"):
        decide_encoding(_file(tmp_path, data))


def test_a_shift_jis_file_is_refused_as_not_utf8_rather_than_mixed(tmp_path):
    """Some of its byte pairs read as UTF-8 by chance: the refusal still says what it is."""
    data = "sourcedId,givenName,familyName\ns1,太郎,山田\ns2,花子,佐藤\ns3,さくら,高橋\n"
    with pytest.raises(EncodingRefused, match="is neither UTF-8 nor Windows-1252") as refused:
        decide_encoding(_file(tmp_path, data.encode("shift_jis")))
    assert "mixes" not in str(refused.value)


def test_a_refusal_names_the_byte_by_its_value_not_its_offset(tmp_path):
    """Found on a public Shift_JIS drop: "(byte 56 is not UTF-8 ...)" named the byte's offset,
    which reads as its value; the line and column say where it is."""
    data = "sourcedId,title,courseCode\nco1,情報処理技術者試験,CC401\n".encode("shift_jis")
    with pytest.raises(EncodingRefused) as refused:
        decide_encoding(_file(tmp_path, data))
    assert str(refused.value) == (
        "users.csv line 2, column title: is neither UTF-8 nor Windows-1252 (byte 0x8f is not "
        "UTF-8; an encoding such as Shift_JIS?); re-export the file as UTF-8"
    )
