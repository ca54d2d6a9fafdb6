"""Answer every request from a WARC archive instead of the network (``crawl --replay``).

A Scrapy download handler for http and https, switched on by the ``PLEDGEWATCH_REPLAY_WARC``
setting. The archive is indexed once (URL -> record offset) and records are read on demand, so a
large Common Crawl or Internet Archive file costs one pass and little memory. A URL the archive
does not hold becomes a 404 and is listed in the crawl summary's ``missing``. Conditional requests
(If-None-Match / If-Modified-Since) are answered with 304 against the recorded ETag and
Last-Modified, which makes incremental crawling testable offline.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pledgewatch.crawler.warcfile import RecordTooLarge, read_payload, truncation

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MISSING_STAT = "pledgewatch/missing"
# Hop-by-hop and encoding headers that describe the recorded bytes, not the decoded body we serve.
_DROPPED_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length", b"connection"}


def url_key(url: str) -> str:
    """The form under which an archived URL is found: no scheme, no fragment, no trailing slash.

    Archives made by other crawlers mix http and https and add or drop the trailing slash of
    directory URLs; a replay should find the page under any of these spellings.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit(("", host, path, parts.query, ""))


@dataclass(frozen=True)
class ArchivedResponse:
    """Where one response record lives in the archive, and the headers needed without reading it."""

    url: str
    offset: int
    status: int
    etag: str | None
    last_modified: str | None


class WarcIndex:
    """URL -> response record of one WARC file, built in one pass; records are read on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._exact: dict[str, ArchivedResponse] = {}
        self._loose: dict[str, ArchivedResponse] = {}
        self._lock = threading.Lock()
        self._build()

    def _build(self) -> None:
        size = self.path.stat().st_size
        with self.path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            record = None
            for record in iterator:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                if not url:
                    continue
                headers = record.http_headers
                try:
                    status = int(headers.get_statuscode())
                except (TypeError, ValueError):
                    continue
                entry = ArchivedResponse(
                    url=url,
                    offset=iterator.get_record_offset(),
                    status=status,
                    etag=headers.get_header("ETag"),
                    last_modified=headers.get_header("Last-Modified"),
                )
                # A later capture of the same URL replaces an earlier one, except that a failed
                # capture (a 5xx during recording) never hides a good one.
                for table, key in ((self._exact, url), (self._loose, url_key(url))):
                    previous = table.get(key)
                    if previous is None or status < 500 or previous.status >= 500:
                        table[key] = entry
            problem = truncation(iterator, record, stream, size)
        if problem:
            raise ArchiveLoadFailed(problem)

    def __len__(self) -> int:
        return len(self._exact)

    def urls(self) -> list[str]:
        return list(self._exact)

    def lookup(self, url: str) -> ArchivedResponse | None:
        return self._exact.get(url) or self._loose.get(url_key(url))

    def read(self, entry: ArchivedResponse, max_bytes: int = 0) -> tuple[list[tuple[str, str]], bytes, str]:
        """Headers, decoded body and HTTP protocol of one archived response.

        :class:`RecordTooLarge` when the decoded body is over ``max_bytes`` (0: no cap).
        """
        with self._lock, self.path.open("rb") as stream:
            stream.seek(entry.offset)
            record = next(iter(ArchiveIterator(stream)))
            body = read_payload(record, max_bytes)
            headers = list(record.http_headers.headers)
            protocol = record.http_headers.protocol or "HTTP/1.1"
        return headers, body, protocol


_INDEXES: dict[tuple[str, float, int], WarcIndex] = {}


def load_index(path: str | Path) -> WarcIndex:
    """One index per archive file and process: several spiders of one crawl share it."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime, stat.st_size)
    if key not in _INDEXES:
        _INDEXES[key] = WarcIndex(resolved)
    return _INDEXES[key]


def _not_modified(request: Request, entry: ArchivedResponse) -> bool:
    """Whether the request's validators show the client already holds this response."""
    if_none_match = request.headers.get(b"If-None-Match")
    if if_none_match and entry.etag:
        tags = {tag.strip() for tag in if_none_match.decode("latin-1").split(",")}
        return entry.etag.strip() in tags or "*" in tags
    if_modified_since = request.headers.get(b"If-Modified-Since")
    if if_modified_since and entry.last_modified:
        try:
            since = parsedate_to_datetime(if_modified_since.decode("latin-1"))
            modified = parsedate_to_datetime(entry.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


class ReplayDownloadHandler:
    """Download handler serving http(s) requests from the WARC named by ``PLEDGEWATCH_REPLAY_WARC``."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        path = crawler.settings.get("PLEDGEWATCH_REPLAY_WARC")
        if not path:
            raise NotConfigured("PLEDGEWATCH_REPLAY_WARC is not set")
        self.crawler = crawler
        self.index = load_index(path)
        self.missing: list[str] = []
        crawler.stats.set_value(MISSING_STAT, self.missing)
        logger.info("replaying %s (%d URLs)", path, len(self.index))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayDownloadHandler:
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        entry = self.index.lookup(request.url)
        if entry is None:
            if request.url not in self.missing:
                self.missing.append(request.url)
            logger.info("not in the archive: %s", request.url)
            return Response(url=request.url, status=404, request=request, flags=["replay", "missing"])
        cap = self.crawler.settings.getint("DOWNLOAD_MAXSIZE", 0)
        try:
            headers, body, protocol = self.index.read(entry, cap)
        except RecordTooLarge as exc:
            # What Scrapy does with a live response over DOWNLOAD_MAXSIZE: drop it, say so.
            logger.warning("not replaying %s: %s", request.url, exc)
            raise IgnoreRequest(f"{request.url}: {exc}") from None
        if _not_modified(request, entry):
            kept = [(k, v) for k, v in headers if k.lower() in ("etag", "last-modified", "date")]
            return Response(
                url=request.url,
                status=304,
                headers=Headers(kept),
                request=request,
                flags=["replay"],
                protocol=protocol,
            )
        scrapy_headers = Headers([(k, v) for k, v in headers if k.lower().encode() not in _DROPPED_HEADERS])
        response_class = responsetypes.from_args(headers=scrapy_headers, url=request.url, body=body)
        return response_class(
            url=request.url,
            status=entry.status,
            headers=scrapy_headers,
            body=body,
            request=request,
            flags=["replay"],
            protocol=protocol,
        )

    async def close(self) -> None:
        return None
