"""Write every response the crawl fetches to a WARC file (``crawl --record ARCHIVE.warc[.gz]``).

A downloader middleware switched on by the ``PLEDGEWATCH_RECORD_WARC`` setting and placed next to
the downloader, so it sees responses as they came off the wire (before decompression, retries and
redirects are handled). The archive replays with ``--replay`` and imports with ``pledgewatch
import``: users can re-run a crawl offline, and bug reports can carry the pages that caused them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pledgewatch.errors import UsageError

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

_HTTP_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def is_gzip_name(path: str | Path) -> bool:
    """Whether a recording at ``path`` is written gzipped: its name ends in ``.gz``."""
    return Path(path).name.lower().endswith(".gz")


def _warc_date(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            pairs.append((key, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return pairs


class WarcRecorder:
    """Appends request/response record pairs to one WARC file (gzipped when its name ends in .gz)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Append: a daemon recording every crawl to one file must never overwrite earlier crawls
            # (a gzipped WARC is a sequence of gzip members, so appended records stay readable).
            self._stream: IO[bytes] = self.path.open("ab")
        except OSError as exc:
            raise UsageError(f"cannot write the archive {self.path}: {exc.strerror or exc}") from None
        # The name says the format: ARCHIVE.warc.gz gets gzip members, ARCHIVE.warc plain records
        # (warcio writes and reads both; one file never mixes them, see crawl._check_appendable).
        self.gzip = is_gzip_name(self.path)
        self._writer = WARCWriter(self._stream, gzip=self.gzip)
        self.records = 0
        info = self._writer.create_warcinfo_record(
            self.path.name, {"software": "pledgewatch", "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)

    def write(self, request: Request, response: Response) -> None:
        now = _warc_date(datetime.now(UTC))
        request_headers = StatusAndHeaders(
            f"{request.method} {request.url} HTTP/1.1", _header_pairs(request.headers), is_http_request=True
        )
        request_record = self._writer.create_warc_record(
            request.url,
            "request",
            payload=BytesIO(request.body or b""),
            http_headers=request_headers,
            warc_headers_dict={"WARC-Date": now},
        )
        # The body is already de-chunked; describe it as what it is so replays read it back.
        pairs = [
            (k, v)
            for k, v in _header_pairs(response.headers)
            if k.lower() not in ("transfer-encoding", "content-length")
        ]
        pairs.append(("Content-Length", str(len(response.body))))
        reason = _HTTP_REASONS.get(response.status, "")
        response_headers = StatusAndHeaders(
            f"{response.status} {reason}".strip(), pairs, protocol=response.protocol or "HTTP/1.1"
        )
        response_record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            http_headers=response_headers,
            warc_headers_dict={"WARC-Date": now},
        )
        request_record.rec_headers.add_header(
            "WARC-Concurrent-To", response_record.rec_headers.get_header("WARC-Record-ID")
        )
        self._writer.write_record(request_record)
        self._writer.write_record(response_record)
        self.records += 1

    def close(self) -> None:
        if not self._stream.closed:
            self._stream.close()


class WarcRecordingMiddleware:
    """Downloader middleware: every response fetched goes into the ``PLEDGEWATCH_RECORD_WARC`` archive."""

    def __init__(self, recorder: WarcRecorder) -> None:
        self.recorder = recorder

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecordingMiddleware:
        path = crawler.settings.get("PLEDGEWATCH_RECORD_WARC")
        if not path:
            raise NotConfigured("PLEDGEWATCH_RECORD_WARC is not set")
        # Several spiders of one crawl write to one archive.
        recorder = _RECORDERS.get(str(path))
        if recorder is None or recorder._stream.closed:
            recorder = _RECORDERS[str(path)] = WarcRecorder(path)
        middleware = cls(recorder)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        _OPEN_SPIDERS[str(path)] = _OPEN_SPIDERS.get(str(path), 0) + 1
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        if "missing" in response.flags:
            return response  # the replay's stand-in for a page it does not have: nothing was fetched
        try:
            self.recorder.write(request, response)
        except Exception:  # a full disk must not stop the crawl; the log says what was lost
            logger.exception("could not record %s", response.url)
        return response

    def spider_closed(self, spider: Spider) -> None:
        key = str(self.recorder.path)
        _OPEN_SPIDERS[key] = _OPEN_SPIDERS.get(key, 1) - 1
        if _OPEN_SPIDERS[key] <= 0:
            self.recorder.close()
            logger.info("recorded %d responses to %s", self.recorder.records, key)


_RECORDERS: dict[str, WarcRecorder] = {}
_OPEN_SPIDERS: dict[str, int] = {}
