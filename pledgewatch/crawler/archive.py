"""The crawl's one connection to the archive, a Scrapy extension the other components share.

The seen-URL check, the conditional-request middleware and the store pipeline all read or write
the archive. Each used to open an engine (a connection pool) of its own; now the crawl opens one,
built from the ``PLEDGEWATCH_DB_URL`` setting, and every component asks the crawler for it. A crawl
without that setting (a test of the spider alone) runs without the archive components:
``NotConfigured`` switches them off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.orm import Session, sessionmaker

from pledgewatch.store.db import make_engine, session_factory

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class ArchiveConnection:
    """One SQLAlchemy engine per crawl, disposed when the crawl's engine stops."""

    def __init__(self, db_url: str) -> None:
        self.engine = make_engine(db_url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveConnection:
        db_url = crawler.settings.get("PLEDGEWATCH_DB_URL")
        if not db_url:
            raise NotConfigured("PLEDGEWATCH_DB_URL is not set")
        extension = cls(db_url)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        self.engine.dispose()


def require_db_url(crawler: Crawler) -> None:
    """``NotConfigured`` for a component that needs the archive when the crawl has none."""
    if not crawler.settings.get("PLEDGEWATCH_DB_URL"):
        raise NotConfigured("PLEDGEWATCH_DB_URL is not set")


def archive_sessions(crawler: Crawler) -> sessionmaker[Session]:
    """The crawl's session factory. Call it once the crawl runs (extensions exist from then on)."""
    extension = crawler.get_extension(ArchiveConnection)
    if extension is None:
        raise RuntimeError("the ArchiveConnection extension is not enabled (EXTENSIONS setting)")
    return extension.sessions
