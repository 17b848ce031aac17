"""An encoding refusal or warning names the line and column of the byte, as the reader numbers
lines (a lone CR ends one) and as the header names columns (a quoted value may hold commas and
line breaks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.formats.encoding import EncodingRefused, Place, decide_encoding, locate

HEADER = b"sourcedId,givenName,familyName\n"


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    return path


def _place_of(path: Path, needle: bytes) -> Place:
    return locate(path, path.read_bytes().index(needle))


def test_a_byte_is_placed_by_line_and_column(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,Lee\ns2,Bo,Ba\xe9\n")
    assert _place_of(path, b"\xe9") == Place(3, "familyName")


def test_commas_inside_quotes_do_not_move_the_column(tmp_path):
    path = _file(tmp_path, HEADER + b's1,"Lee, Ann",Ba\xe9\n')
    assert _place_of(path, b"\xe9") == Place(2, "familyName")


def test_a_line_break_inside_quotes_keeps_the_record_s_column(tmp_path):
    path = _file(tmp_path, HEADER + b's1,"Ann\nMarie",B\xe9\n')
    assert _place_of(path, b"\xe9") == Place(3, "familyName")


def test_lone_carriage_returns_end_lines(tmp_path):
    path = _file(tmp_path, HEADER.replace(b"\n", b"\r") + b"s1,Ann,Lee\rs2,B\xe9,Ba\r")
    assert _place_of(path, b"\xe9") == Place(3, "givenName")


def test_a_byte_past_the_header_s_columns_has_no_column_name(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,Lee,extra\xe9\n")
    assert _place_of(path, b"\xe9") == Place(2, None)


def test_a_converted_file_says_where_its_first_other_byte_is(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,Lee\ns2,Zo\xeb,Ba\n")
    decision = decide_encoding(path)
    assert decision.encoding == "cp1252" and decision.first_bad == Place(3, "givenName")


def test_a_byte_windows_1252_lacks_is_placed_where_it_is(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Zo\xeb,Lee\ns2,Bo,Ba\x81\n")
    with pytest.raises(EncodingRefused, match=r"users.csv line 3, column familyName: is neither"):
        decide_encoding(path)


def test_a_quote_inside_an_unquoted_value_is_text_as_the_reader_reads_it(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,Lee\ns2,5'10\",Ba\xe9\n")
    assert _place_of(path, b"\xe9") == Place(3, "familyName")


def test_a_quote_inside_an_unquoted_value_rows_before_does_not_open_a_value(tmp_path):
    path = _file(tmp_path, HEADER + b"s1,Ann,5'10\"\ns2,Bo,Ba\ns3,Cy,Ca\xe9\n")
    assert _place_of(path, b"\xe9") == Place(4, "familyName")


def test_a_header_name_in_utf8_is_named_as_written(tmp_path):
    path = _file(tmp_path, "\ufeffsourcedId,prénom\n".encode() + b"s1,Zo\xeb\n")
    assert _place_of(path, b"\xeb") == Place(2, "prénom")


def test_a_utf8_character_cut_by_a_chunk_still_marks_the_file_as_mixed(tmp_path, monkeypatch):
    import daemon.formats.encoding as encoding

    data = HEADER + b"s1,Zo\xeb,Lee\ns2,Jos" + "é".encode() + b",Ba\n"
    monkeypatch.setattr(encoding, "CHUNK", data.index("é".encode()) + 1)  # the é cut in two
    with pytest.raises(EncodingRefused, match="mixes UTF-8 with another encoding"):
        decide_encoding(_file(tmp_path, data))
