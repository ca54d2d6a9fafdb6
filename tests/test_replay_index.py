"""The replay index's sidecar: a second replay of an archive does not read it again, and a sidecar
that is not the archive's (stale, foreign, damaged, lying) never serves a wrong page."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers_crawl import HTML, Page, write_warc
from scrapy import Request
from scrapy.utils.test import get_crawler

from pledgewatch.crawler.replay import ReplayDownloadHandler, WarcIndex, index_dir

FIRST = "https://jdcorporateblog.com/jd-com-to-invest-over-rmb-6-billion-in-hubei/"
SECOND = "https://en.people.cn/n3/2020/0430/c90000-9685505.html"


def page(url: str, text: str) -> Page:
    return Page(url, f"<html><body><p>{text}</p></body></html>".encode(), headers=HTML)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return index_dir()


def body(index: WarcIndex, url: str) -> bytes:
    entry = index.lookup(url)
    assert entry is not None, url
    return index.read(entry)[1]


def sidecar_lines(index: WarcIndex) -> tuple[dict, list[list]]:
    header, *rows = index.sidecar.read_text(encoding="utf-8").splitlines()
    return json.loads(header), [json.loads(row) for row in rows]


def rewrite_sidecar(index: WarcIndex, header: dict, rows: list[list]) -> None:
    lines = [json.dumps(header), *(json.dumps(row) for row in rows)]
    index.sidecar.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_second_replay_takes_the_index_from_its_sidecar(tmp_path: Path, cache: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", [page(FIRST, "Hubei"), page(SECOND, "Wuhan")])
    first = WarcIndex(archive)
    assert not first.loaded_from_sidecar
    assert first.sidecar.parent == cache and first.sidecar.exists()
    assert not list(tmp_path.glob("site.warc.gz?*"))  # nothing written beside the archive
    header, rows = sidecar_lines(first)
    # The sidecar is what the next replay knows: a URL taken out of it is not found, although
    # the archive holds it (the archive is not read again), and the others are read by offset.
    rewrite_sidecar(first, header, [row for row in rows if row[0] != SECOND])
    second = WarcIndex(archive)
    assert second.loaded_from_sidecar
    assert second.lookup(SECOND) is None
    assert b"Hubei" in body(second, FIRST)


def test_an_archive_rewritten_in_place_is_indexed_again(tmp_path: Path, cache: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", [page(FIRST, "Old text")])
    assert b"Old text" in body(WarcIndex(archive), FIRST)
    write_warc(archive, [page(SECOND, "Another page"), page(FIRST, "New text, longer than the old")])
    again = WarcIndex(archive)
    assert not again.loaded_from_sidecar
    assert b"New text" in body(again, FIRST)
    assert b"Another page" in body(again, SECOND)


def test_a_foreign_or_damaged_sidecar_is_not_trusted(tmp_path: Path, cache: Path) -> None:
    mine = write_warc(tmp_path / "mine.warc.gz", [page(FIRST, "Mine")])
    other = write_warc(tmp_path / "other.warc.gz", [page(SECOND, "Other"), page(FIRST, "Not mine")])
    index = WarcIndex(mine)
    shutil.copyfile(WarcIndex(other).sidecar, index.sidecar)  # another archive's index, at my name
    foreign = WarcIndex(mine)
    assert not foreign.loaded_from_sidecar
    assert foreign.lookup(SECOND) is None
    assert b"Mine" in body(foreign, FIRST)
    index.sidecar.write_text("not json\n", encoding="utf-8")
    assert b"Mine" in body(WarcIndex(mine), FIRST)


def test_a_sidecar_with_wrong_offsets_still_serves_the_right_pages(tmp_path: Path, cache: Path) -> None:
    archive = write_warc(tmp_path / "site.warc.gz", [page(FIRST, "Hubei"), page(SECOND, "Wuhan")])
    header, rows = sidecar_lines(WarcIndex(archive))
    offsets = [row[1] for row in rows]
    rows[0][1], rows[1][1] = offsets[1], offsets[0]  # matches the archive's identity, lies about offsets
    rewrite_sidecar(WarcIndex(archive), header, rows)
    crawler = get_crawler(settings_dict={"PLEDGEWATCH_REPLAY_WARC": str(archive)})
    crawler.stats.open_spider()
    handler = ReplayDownloadHandler.from_crawler(crawler)
    assert handler.index.loaded_from_sidecar
    first = asyncio.run(handler.download_request(Request(FIRST)))
    second = asyncio.run(handler.download_request(Request(SECOND)))
    assert b"Hubei" in first.body and b"Wuhan" not in first.body
    assert b"Wuhan" in second.body
    _, repaired = sidecar_lines(handler.index)
    assert [row[1] for row in repaired] == offsets  # and the sidecar is right again


def test_an_unwritable_cache_only_costs_the_sidecar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    archive = write_warc(tmp_path / "site.warc.gz", [page(FIRST, "Hubei")])
    index = WarcIndex(archive)
    assert b"Hubei" in body(index, FIRST)
    assert not index.sidecar.exists()
    assert sorted(os.listdir(tmp_path)) == ["cache-is-a-file", "site.warc.gz"]
