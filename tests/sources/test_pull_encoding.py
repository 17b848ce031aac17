"""A compressed page is decoded a bounded piece at a time, and only as gzip or deflate.

max_page_bytes bounds what a page holds in memory. A gzip body is small where its page is large
(64 KiB of gzip holds 66 MB of zeros), so it is counted as it is decoded, a piece at a time, and
never grows past the limit before it is refused. A body cut before its gzip end, or in an encoding
that was not asked for, fails the pull in one line; a gzip of several members (RFC 1952) is read
whole.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from daemon.sources.config import read_secret
from daemon.sources.errors import SourceError
from daemon.sources.http import Fetcher
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import rest_config
from tests.sources.test_oneroster_rest import assert_planned_as_csv, pull_rest

Encode = Callable[[bytes], bytes]


class Encoded(OneRosterHub):
    """Every page of users in Content-Encoding `encoding`, its body as `encode` makes it."""

    def __init__(self, data, encoding: str, encode: Encode, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data, **kwargs)
        self.encoding, self.encode = encoding, encode

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users":
            headers["Content-Encoding"] = self.encoding
            body = self.encode(body)
        return status, headers, body


def raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def two_members(body: bytes) -> bytes:
    half = len(body) // 2
    return gzip.compress(body[:half]) + gzip.compress(body[half:])


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate),
     ("gzip", two_members), ("gzip", lambda body: gzip.compress(body) + b"\r\n")],
    ids=["gzip", "deflate", "raw deflate", "two gzip members", "a line end after"],
)  # fmt: skip
def test_a_compressed_page_is_read_whole(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, encoding: str,
    encode: Encode,
) -> None:  # fmt: skip
    run = pull_rest(puller, Encoded(oneroster_rest(district), encoding, encode), secret_file)
    assert_planned_as_csv(puller, run, district, tmp_path)


def test_a_gzip_page_cut_before_its_end_fails_the_pull_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = Encoded(oneroster_rest(district), "gzip", lambda body: gzip.compress(body)[:-8])
    run = pull_rest(puller, hub, secret_file)  # the end (CRC and length) is missing
    assert run.status == "failed"
    assert run.error.startswith("users: "), run.error
    assert (
        "the response's gzip body cannot be decoded (it ends before its end)" in run.error
        and "nothing was planned" in run.error
    ), run.error


def test_a_page_in_an_encoding_not_asked_for_fails_the_pull_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_rest(puller, Encoded(oneroster_rest(district), "br", bytes), secret_file)
    assert run.status == "failed"
    assert "/users: the response is in Content-Encoding 'br', which was not asked for" in run.error
    assert run.error.startswith("users: ")


def test_a_small_gzip_of_a_huge_page_is_refused_before_it_is_decoded_whole(
    district: TinyDistrict, secret_file: Path
) -> None:
    bomb = gzip.compress(b"0" * 40_000_000)  # 40 MB in about 40 KB: one chunk as it streams
    hub = Encoded(oneroster_rest(district), "gzip", lambda body: bomb).start()
    try:
        config = rest_config(hub, secret_file, max_page_bytes=2_000_000)
        with Fetcher(config, read_secret(config)) as fetcher:
            tracemalloc.start()
            try:
                with pytest.raises(SourceError, match="larger than max_page_bytes"):
                    fetcher.get(f"{hub.base_url}/users?limit=4&offset=0")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    finally:
        hub.stop()
    assert peak < 8_000_000, peak  # the limit and a piece, not the 40 MB the gzip holds
