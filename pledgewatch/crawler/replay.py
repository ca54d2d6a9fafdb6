"""Answer every request from a WARC archive instead of the network (``crawl --replay``).

A Scrapy download handler for http and https, switched on by the ``PLEDGEWATCH_REPLAY_WARC``
setting. The archive is indexed once (URL -> record offset; the index is kept in a sidecar file for
the next replay of the same file, see :class:`WarcIndex`) and records are read on demand, so a
large Common Crawl or Internet Archive file costs one pass and little memory. A URL the archive
does not hold becomes a 404 and is listed in the crawl summary's ``missing``. Conditional requests
(If-None-Match / If-Modified-Since) are answered with 304 against the recorded ETag and
Last-Modified, which makes incremental crawling testable offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
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


INDEX_VERSION = 2  # bump when the sidecar's lines change: an older sidecar is then rebuilt
# How much of the archive's head and tail the sidecar's fingerprint covers: a different file that
# happens to have the same size and mtime (a copy with ``cp -p``) is not taken for the indexed one.
_FINGERPRINT_BYTES = 64 * 1024


def index_dir() -> Path:
    """Where sidecar indexes live: ``$XDG_CACHE_HOME/pledgewatch/replay-index`` (``~/.cache/...``).

    A cache folder, not the archive's own folder: the bundled sample web and archives on read-only
    or shared disks are replayed too, and nothing is written beside them.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pledgewatch" / "replay-index"


def _fingerprint(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        digest.update(stream.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            stream.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(stream.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()


class StaleIndex(LookupError):
    """A sidecar entry's offset does not hold the record it names: the index is not this archive's."""


class WarcIndex:
    """URL -> response record of one WARC file; records are read on demand.

    Building the index reads every record once (3.9 s for a 273 MB archive of 10,000 articles, on
    every crawl of a daemon replaying it). So the index is kept in a sidecar file (JSON lines, one
    per response record: URL, offset, status, ETag, Last-Modified, :func:`url_key`) under
    :func:`index_dir`, named
    after the archive's path and valid only for the archive's size, mtime and a hash of its first
    and last 64 KiB; anything else, or a damaged sidecar, makes it rebuild from the archive (and the
    sidecar is replaced atomically). Every read also checks that the record at the offset is the
    URL's response, so even a sidecar that passes those checks wrongly cannot serve another page:
    the index is rebuilt from the archive and the lookup repeated.
    """

    def __init__(self, path: str | Path, sidecar_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.sidecar_dir = sidecar_dir if sidecar_dir is not None else index_dir()
        self._exact: dict[str, ArchivedResponse] = {}
        self._loose: dict[str, ArchivedResponse] = {}
        self._lock = threading.Lock()
        self.loaded_from_sidecar = False
        self._identity = self._identify()
        if not self._load_sidecar():
            self._build()

    @property
    def sidecar(self) -> Path:
        """The sidecar file of this archive (one per archive path: a new archive replaces it)."""
        key = hashlib.sha256(str(self.path.resolve()).encode("utf-8")).hexdigest()[:24]
        return self.sidecar_dir / f"{self.path.name}.{key}.jsonl"

    def _identify(self) -> dict[str, object]:
        stat = self.path.stat()
        return {
            "pledgewatch_replay_index": INDEX_VERSION,
            "warc": str(self.path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "fingerprint": _fingerprint(self.path, stat.st_size),
        }

    def _add(self, entry: ArchivedResponse, loose: str) -> None:
        # A later capture of the same URL replaces an earlier one, except that a failed
        # capture (a 5xx during recording) never hides a good one.
        for table, key in ((self._exact, entry.url), (self._loose, loose)):
            previous = table.get(key)
            if previous is None or entry.status < 500 or previous.status >= 500:
                table[key] = entry

    def _load_sidecar(self) -> bool:
        """Fill the tables from the sidecar when it is this archive's; False when it is not."""
        try:
            with self.sidecar.open("r", encoding="utf-8") as stream:
                if json.loads(stream.readline()) != self._identity:
                    return False
                # One parse of the whole list (a line per record, for people reading it).
                rows = json.loads("[" + ",".join(stream.read().splitlines()) + "]")
            entries = [(ArchivedResponse(*row[:5]), row[5]) for row in rows]
        except (OSError, ValueError, TypeError, IndexError):
            return False  # absent, unreadable or damaged: rebuilt from the archive
        for entry, loose in entries:
            if not isinstance(loose, str):
                return False
            self._add(entry, loose)
        self.loaded_from_sidecar = True
        return True

    def _build(self) -> None:
        self._identity = self._identify()
        self._exact.clear()
        self._loose.clear()
        entries: list[ArchivedResponse] = []
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
                entries.append(entry)
                self._add(entry, url_key(url))
            problem = truncation(iterator, record, stream, size)
        if problem:
            raise ArchiveLoadFailed(problem)
        self.loaded_from_sidecar = False
        self._write_sidecar(entries)

    def _write_sidecar(self, entries: list[ArchivedResponse]) -> None:
        """Written to a temporary file and renamed: a reader never sees half a sidecar."""
        lines = [json.dumps(self._identity)]
        lines += [
            json.dumps([e.url, e.offset, e.status, e.etag, e.last_modified, url_key(e.url)]) for e in entries
        ]
        temporary: str | None = None
        try:
            self.sidecar_dir.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.sidecar_dir, prefix=".tmp-", suffix=".jsonl")
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write("\n".join(lines) + "\n")
            os.replace(temporary, self.sidecar)
        except OSError as exc:
            # A read-only cache folder costs the next replay a full read, nothing else.
            logger.info("replay index of %s not kept: %s", self.path, exc)
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def __len__(self) -> int:
        return len(self._exact)

    def urls(self) -> list[str]:
        return list(self._exact)

    def lookup(self, url: str) -> ArchivedResponse | None:
        return self._exact.get(url) or self._loose.get(url_key(url))

    def read(self, entry: ArchivedResponse, max_bytes: int = 0) -> tuple[list[tuple[str, str]], bytes, str]:
        """Headers, decoded body and HTTP protocol of one archived response.

        :class:`RecordTooLarge` when the decoded body is over ``max_bytes`` (0: no cap). An entry
        of a sidecar that does not match the archive is found again in a rebuilt index.
        """
        with self._lock:
            try:
                return self._read(entry, max_bytes)
            except StaleIndex:
                if not self.loaded_from_sidecar:
                    raise
                logger.warning("replay index of %s does not match the archive: rebuilding it", self.path)
                self._build()
            fresh = self.lookup(entry.url)
            if fresh is None:
                raise StaleIndex(f"{entry.url} is not in {self.path}")
            return self._read(fresh, max_bytes)

    def _read(self, entry: ArchivedResponse, max_bytes: int) -> tuple[list[tuple[str, str]], bytes, str]:
        with self.path.open("rb") as stream:
            stream.seek(entry.offset)
            try:
                record = next(iter(ArchiveIterator(stream)))
            except (StopIteration, ArchiveLoadFailed) as exc:
                raise StaleIndex(f"no record at offset {entry.offset}") from exc
            if (
                record.rec_type != "response"
                or record.http_headers is None
                or record.rec_headers.get_header("WARC-Target-URI") != entry.url
            ):
                raise StaleIndex(f"the record at offset {entry.offset} is not {entry.url}")
            body = read_payload(record, max_bytes)
            headers = list(record.http_headers.headers)
            protocol = record.http_headers.protocol or "HTTP/1.1"
        return headers, body, protocol


_INDEXES: dict[tuple[str, int, int], WarcIndex] = {}


def load_index(path: str | Path) -> WarcIndex:
    """One index per archive file and process: several spiders of one crawl share it."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
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
