"""Backfill from any WARC: ``pledgewatch import ARCHIVE.warc.gz``.

Every HTML response record whose URL is an article of a known publisher goes through the same
parser and :func:`~pledgewatch.ingest.ingest` as a crawl: recordings made with
``--record``, Internet Archive downloads and Common Crawl segments alike. No network, no Scrapy
reactor: a plain loop over the archive, so it can run any number of times in one process.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from pledgewatch.config import Config
from pledgewatch.crawler.summary import CrawlSummary
from pledgewatch.crawler.warcfile import RecordTooLarge, read_payload, truncation
from pledgewatch.errors import UsageError
from pledgewatch.ingest import ingest
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.records import ArticleRecord
from pledgewatch.spiders.parsing import ExtractionError, extract_article, join_pages, page_text
from pledgewatch.spiders.publisher import publisher_for_url

logger = logging.getLogger(__name__)

# (bytes read so far, total bytes) after each record.
ImportProgress = Callable[[int, int, CrawlSummary], None]
_COUNTERS = {"new": "articles_new", "updated": "articles_updated", "duplicate": "duplicates"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_article_url(url: str) -> bool:
    """Whether ``url`` is an article of a publisher the registry knows (other pages are skipped)."""
    publisher = publisher_for_url(url)
    return publisher is not None and publisher.article_id(url) is not None


def parse_page(url: str, body: bytes, content_type: str | None) -> ArticleRecord:
    """The publisher's ArticleRecord for one archived article page."""
    publisher = publisher_for_url(url)
    # The same charset detection as a crawl: header, then <meta>, then detection (the GBK page).
    return extract_article(
        body, url, encoding=content_type, publisher=publisher, source=publisher.name if publisher else None
    )


def check_warc(path: str | Path) -> Path:
    """The WARC to import, or the one-line reason it cannot be one (checked before the archive is
    opened, so a typo creates no archive)."""
    archive = Path(path)
    if not archive.is_file():
        raise UsageError(f"archive not found: {path}")
    if archive.stat().st_size == 0:
        raise UsageError(f"{archive}: an empty file, not a WARC")
    return archive


def import_warc(
    path: str | Path,
    config: Config,
    db_url: str,
    progress: ImportProgress | None = None,
    trigger: str = "import",
) -> CrawlSummary:
    """Parse and store every article page of the archive at ``path``; returns what happened."""
    from pledgewatch.store import crawlruns
    from pledgewatch.store.db import ensure_schema, make_engine, session_factory

    archive = check_warc(path)
    total = archive.stat().st_size
    watchlist = Watchlist(config.watchlist)
    summary = CrawlSummary()
    engine = make_engine(db_url)
    try:
        ensure_schema(engine)
        sessions = session_factory(engine)
        with sessions() as session:
            run_id = crawlruns.start_run(session, trigger, [], str(archive.resolve()))
        status = "ok"
        try:
            with archive.open("rb") as stream, sessions() as session:
                try:
                    _import_records(
                        stream, total, watchlist, session, summary, progress, config.crawl.max_response_bytes
                    )
                except ArchiveLoadFailed as exc:
                    status = "failed"
                    summary.errors += 1
                    readable = "a damaged WARC" if summary.pages_fetched else "not a readable WARC"
                    summary.error_log.append(f"{archive}: {readable}: {exc}")
        except KeyboardInterrupt:
            status = "interrupted"
        summary.status = status
        with sessions() as session:
            crawlruns.finish_run(session, run_id, status, summary.to_json(), summary.error_log)
    finally:
        engine.dispose()
    if summary.status == "failed" and summary.pages_fetched == 0:
        raise UsageError(summary.error_log[-1] if summary.error_log else f"cannot import {archive}")
    return summary


def _warc_date(value: str | None) -> datetime | None:
    """When the page was captured: the article's fetch time, not the time of the import."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _error(summary: CrawlSummary, message: str) -> None:
    summary.errors += 1
    summary.error_log.append(message)
    logger.warning("%s", message)


def _joined(item: ArticleRecord, pages: dict[str, str]) -> ArticleRecord:
    if not item.page_urls:
        return item
    return join_pages(item, [(url, pages[url]) for url in item.page_urls if url in pages])


def _store(session, item: ArticleRecord, watchlist: Watchlist, summary: CrawlSummary) -> None:  # type: ignore[no-untyped-def]
    summary.articles_seen += 1
    try:
        outcome = ingest(session, item, watchlist)
    except Exception as exc:
        _error(summary, f"store {item.url}: {type(exc).__name__}: {exc}")
    else:
        counter = _COUNTERS.get(outcome.status)
        if counter:
            setattr(summary, counter, getattr(summary, counter) + 1)
        summary.pledges_new += outcome.pledges_new


def _records(iterator: ArchiveIterator) -> Iterator[ArcWarcRecord]:
    """warcio's records, with its own failures on a damaged archive as :class:`ArchiveLoadFailed`.

    A WARC cut inside a record's headers (a download stopped early) made warcio raise
    AttributeError (found by tests/reliability/test_fuzz.py): a traceback instead of one line.
    """
    try:
        yield from iterator
    except ArchiveLoadFailed:
        raise
    except (AttributeError, TypeError, ValueError, IndexError, KeyError, EOFError, zlib.error) as exc:
        raise ArchiveLoadFailed(f"a damaged record ({type(exc).__name__}: {exc})") from None


def _import_records(  # type: ignore[no-untyped-def]
    stream, total: int, watchlist: Watchlist, session, summary: CrawlSummary, progress, max_bytes: int = 0
) -> None:
    """Every 200 HTML response of a known publisher's article URL; ``pages_fetched`` counts those.

    A multi-page article is stored once, with its pages joined as a crawl joins them: page 1 waits
    until the archive has shown its other pages (in whatever order they were recorded), or until
    the end of the archive, and is then stored with the pages found.
    """
    iterator = ArchiveIterator(stream)
    record = None
    # Continuation pages seen so far (url -> text) and page-1 records waiting for theirs.
    pages: dict[str, str] = {}
    waiting: dict[str, ArticleRecord] = {}
    for record in _records(iterator):
        if progress is not None:
            progress(stream.tell(), total, summary)
        if record.rec_type != "response" or record.http_headers is None:
            continue
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        status = record.http_headers.get_statuscode()
        content_type = record.http_headers.get_header("Content-Type")
        if not url or status != "200" or not (content_type or "text/html").lower().startswith(_HTML_TYPES):
            continue
        if not is_article_url(url):
            continue
        try:
            body = read_payload(record, max_bytes)
        except RecordTooLarge as exc:
            _error(summary, f"skipped {url}: {exc}")
            continue
        if getattr(record.raw_stream, "limit", 0):
            # The archive ends inside this record: a page cut short is no page (the check after
            # the loop says where the archive ends).
            break
        summary.pages_fetched += 1
        publisher = publisher_for_url(url)
        if publisher is not None and publisher.page_number(url) > 1:
            try:
                pages[url] = page_text(body, url, encoding=content_type, publisher=publisher)
            except Exception as exc:
                _error(summary, f"parse {url}: {type(exc).__name__}: {exc}")
                continue
            for first, item in list(waiting.items()):
                if all(page in pages for page in item.page_urls):
                    del waiting[first]
                    _store(session, _joined(item, pages), watchlist, summary)
            continue
        item: ArticleRecord | None = None
        try:
            item = parse_page(url, body, content_type)
        except ExtractionError as exc:
            _error(summary, f"no article found: {url}: {exc}")
        except Exception as exc:
            _error(summary, f"parse {url}: {type(exc).__name__}: {exc}")
        if item is not None and item.text.strip():
            captured = _warc_date(record.rec_headers.get_header("WARC-Date"))
            if captured is not None:
                item.fetched_at = captured
            if item.page_urls and not all(page in pages for page in item.page_urls):
                waiting[url] = item
                continue
            _store(session, _joined(item, pages), watchlist, summary)
    for item in waiting.values():  # pages the archive does not hold: stored with those it has
        _store(session, _joined(item, pages), watchlist, summary)
    problem = truncation(iterator, record, stream, total)
    if problem:
        # What came before is imported (each article is whole); the run says the rest is missing.
        raise ArchiveLoadFailed(problem)
    if progress is not None:
        progress(total, total, summary)
