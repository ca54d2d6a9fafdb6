"""The store's share of a crawl (issue 15): CPU and SQL statements per new article in ``ingest``.

Reads the article pages of the scaled replica (``benchmarks/replica.py``), extracts them once, runs
pledge detection on each up front (in a crawl it runs in the worker process), then stores them one
session per article as the crawl's store thread does, into a fresh SQLite archive. Prints CPU ms
(this thread's time) and SQL statements per article; the first ``--warm`` articles are stored
before the clock starts (imports, the MinHash permutations, SQLAlchemy's statement cache).

Run: ``python benchmarks/store_speed.py --articles 400``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400, help="articles stored (timed after --warm)")
    parser.add_argument("--warm", type=int, default=20)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import replica
    from sqlalchemy import event
    from warcio.archiveiterator import ArchiveIterator

    from pledgewatch.ingest import ingest
    from pledgewatch.pledges import extract_pledges
    from pledgewatch.pledges.watchlist import Watchlist
    from pledgewatch.spiders.parsing import ExtractionError, extract_article
    from pledgewatch.store.db import ensure_schema, make_engine, session_factory

    warc, _ = replica.build(max(1000, args.articles))
    records = []
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            try:
                records.append(extract_article(record.content_stream().read(), url))
            except ExtractionError:
                continue  # a listing, a feed
            if len(records) >= args.articles:
                break
    watchlist = Watchlist([])
    found = {
        id(r): extract_pledges(
            r.text or "",
            r.published or r.fetched_at,
            resolver=watchlist.actor_resolver,
            title=r.title or None,
            url=(r.canonical.url if r.canonical else r.url) or None,
        )
        for r in records
    }
    current: list[int] = [0]

    class Detected:
        """What the crawl's PledgeAnalyzer answers, found before the clock started."""

        def extract(self, text: str, published: Any, **context: Any) -> list[Any]:
            return found[current[0]]

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        ensure_schema(engine)
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        sessions = session_factory(engine)
        analyzer: Any = Detected()

        def store(batch: list[Any]) -> None:
            for item in batch:
                current[0] = id(item)
                with sessions() as session:
                    ingest(session, item, watchlist, analyzer=analyzer)

        store(records[: args.warm])
        timed = records[args.warm :]
        statements[0] = 0
        start = time.thread_time()
        store(timed)
        cpu = time.thread_time() - start
        engine.dispose()
    print(
        f"{len(timed)} articles: {cpu * 1000 / len(timed):.2f} ms CPU per article, "
        f"{statements[0] / len(timed):.1f} SQL statements per article"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
