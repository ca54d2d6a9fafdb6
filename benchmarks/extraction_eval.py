"""Field accuracy of article extraction on the sample web and the per-publisher fixtures.

    python benchmarks/extraction_eval.py [--warc pledgewatch/data/sampleweb.warc.gz]
        [--manifest pledgewatch/data/sampleweb-manifest.json] [--generic] [-v]

For every article page in the WARC that the manifest describes, and for every
tests/data/publishers/**/article.html with its expected JSON, it compares title, authors, published,
outlet, body start, body end and (where the manifest has it) the whole text (paragraph by paragraph,
whitespace normalised), and prints fields correct / total per publisher. ``--generic`` runs the
generic extractor only (no publisher rules), which shows what the per-publisher parsers buy.
``-v`` lists every mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from pledgewatch.crawler.discovery import parse_feed, parse_listing, parse_sitemap
from pledgewatch.spiders.listing import ListingPage
from pledgewatch.spiders.parsing import ArticleParser, ExtractionError, join_pages, page_text, parser_for
from pledgewatch.spiders.publisher import all_publishers, publisher_for_url

REPO = Path(__file__).resolve().parent.parent
FIELDS = ("title", "authors", "published", "modified", "outlet", "body_start", "body_end", "text")


def _paragraphs(text: str) -> list[str]:
    # Whitespace inside a paragraph is normalised on purpose (no-break spaces, double spaces).
    return [" ".join(p.split()) for p in text.split("\n\n")]


def _same_time(got: datetime | None, expected: str | None) -> bool:
    if expected is None:
        return got is None
    return got is not None and got == datetime.fromisoformat(expected)


def compare(
    parser: ArticleParser, expected: dict, more_pages: list[tuple[str, bytes, str | None]] = ()
) -> dict[str, tuple[bool, object, object]]:
    """field -> (correct, got, expected) for the fields the expectation holds.

    ``more_pages`` are the (url, body, content type) of the article's further pages, joined to
    page 1 as the crawl joins them.
    """
    try:
        record = parser.record()
        available = {url: (body, ctype) for url, body, ctype in more_pages}
        if record.page_urls:
            record = join_pages(
                record,
                [
                    (url, page_text(available[url][0], url, encoding=available[url][1]))
                    for url in record.page_urls
                    if url in available
                ],
            )
    except ExtractionError as exc:
        return {
            field: (False, f"ExtractionError: {exc}", expected.get(field))
            for field in FIELDS
            if field in expected
        }
    result: dict[str, tuple[bool, object, object]] = {}
    checks = {
        "title": lambda e: record.title == e,
        "authors": lambda e: record.authors == e,
        "published": lambda e: _same_time(record.published, e),
        "modified": lambda e: _same_time(record.modified, e),
        "outlet": lambda e: record.outlet == e,
        "body_start": lambda e: record.text.startswith(e),
        "body_end": lambda e: record.text.endswith(e),
        "text": lambda e: _paragraphs(record.text) == _paragraphs(e),
    }
    got = {
        "title": record.title,
        "authors": record.authors,
        "published": record.published.isoformat() if record.published else None,
        "modified": record.modified.isoformat() if record.modified else None,
        "outlet": record.outlet,
        "body_start": record.text[:80],
        "body_end": record.text[-80:],
        "text": f"{len(record.text)} chars, similarity "
        f"{SequenceMatcher(None, record.text, expected.get('text') or '').ratio():.3f}",
    }
    for field in FIELDS:
        if field in expected:
            result[field] = (bool(checks[field](expected[field])), got[field], expected[field])
    return result


def warc_pages(path: Path) -> dict[str, tuple[bytes, str | None]]:
    pages: dict[str, tuple[bytes, str | None]] = {}
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
            pages[url] = (record.content_stream().read(), content_type)
    return pages


def discover(pages: dict[str, tuple[bytes, str | None]]) -> dict[str, tuple[set[str], int, int]]:
    """Walk every publisher's feeds, sitemaps and listings (with pagination) inside the WARC.

    Returns publisher -> (article URLs found, discovery pages read, discovery URLs missing, listing
    pages read through the article-link fallback).
    """
    found: dict[str, tuple[set[str], int, int, int]] = {}
    for publisher in all_publishers().values():
        queue = [(url, parse_feed) for url in publisher.feeds]
        queue += [(url, parse_sitemap) for url in publisher.sitemaps]
        queue += [(url, parse_listing) for url in publisher.listings]
        seen: set[str] = set()
        urls: set[str] = set()
        missing = 0
        fallbacks = 0
        while queue:
            url, parse = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if url not in pages:
                missing += 1
                continue
            page: ListingPage = parse(pages[url][0], url, publisher)
            fallbacks += page.fallback
            urls.update(page.urls)
            if page.next_page:
                queue.append((page.next_page, parse))
            queue.extend((child, parse) for child in page.children)
        found[publisher.name] = (urls, len(seen) - missing, missing, fallbacks)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warc", type=Path, default=REPO / "pledgewatch" / "data" / "sampleweb.warc.gz")
    parser.add_argument(
        "--manifest", type=Path, default=REPO / "pledgewatch" / "data" / "sampleweb-manifest.json"
    )
    parser.add_argument("--fixtures", type=Path, default=REPO / "tests" / "data" / "publishers")
    parser.add_argument("--generic", action="store_true", help="generic extraction only, no publisher rules")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every mismatch")
    args = parser.parse_args(argv)

    # (set, publisher) -> field -> [correct, total]
    scores: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    mismatches: list[str] = []
    pages_done = 0
    started = time.perf_counter()

    def score(
        set_name: str,
        url: str,
        parser_obj: ArticleParser,
        expected: dict,
        more_pages: list[tuple[str, bytes, str | None]] = (),
    ) -> None:
        nonlocal pages_done
        pages_done += 1
        publisher = publisher_for_url(url)
        key = (set_name, publisher.name if publisher else "generic")
        for field, (ok, got, want) in compare(parser_obj, expected, more_pages).items():
            scores[key][field][0] += ok
            scores[key][field][1] += 1
            if not ok:
                mismatches.append(f"[{set_name}] {url} {field}: got {got!r}, expected {want!r}")

    def make(body: bytes, url: str, content_type: str | None) -> ArticleParser:
        cls = ArticleParser if args.generic else parser_for(url)
        return cls(body, url, encoding=content_type)

    if args.warc.is_file() and args.manifest.is_file():
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
        articles = {a["url"]: a for a in manifest["articles"]}
        for snapshot, info in manifest["snapshots"].items():
            warc = args.warc.parent / info["warc"] if snapshot != "first" else args.warc
            if not warc.is_file():
                continue
            pages = warc_pages(warc)
            for url in info["article_urls"]:
                article = articles[url]
                expected = {k: article[k] for k in FIELDS if k in article}
                if snapshot != "first" and "later" in article:
                    expected.update({k: v for k, v in article["later"].items() if k in FIELDS})
                body, content_type = pages[url]
                more = [(u, *pages[u]) for u in article.get("page_urls", [url])[1:] if u in pages]
                score(f"sw-{snapshot}", url, make(body, url, content_type), expected, more)
            print(f"discovery in the {snapshot} snapshot (feeds + sitemaps + paginated listings):")
            wanted = set(info["article_urls"])
            for name, (urls, read, missing, fallbacks) in discover(pages).items():
                expected_urls = {
                    u for u in wanted if (p := publisher_for_url(u)) is not None and p.name == name
                }
                print(
                    f"  {name:<11} found {len(urls & expected_urls)}/{len(expected_urls)} articles, "
                    f"{len(urls - expected_urls)} non-article links, {read} discovery pages read, "
                    f"{missing} missing, {fallbacks} listing pages by fallback"
                )
    else:
        print(f"(no sample web at {args.warc} / {args.manifest}: fixtures only)", file=sys.stderr)

    for expected_path in sorted(args.fixtures.glob("**/article.expected.json")):
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        body = (expected_path.parent / "article.html").read_bytes()
        more = [
            (page_url, (expected_path.parent / f"article-{n}.html").read_bytes(), None)
            for n, page_url in enumerate(expected.get("page_urls", []), start=2)
        ]
        score("fixtures", expected["url"], make(body, expected["url"], None), expected, more)

    elapsed = time.perf_counter() - started
    print(f"{'set':<10} {'publisher':<11} " + " ".join(f"{f:>11}" for f in FIELDS) + f" {'all':>11}")
    for (set_name, publisher), fields in sorted(scores.items()):
        cells, total_ok, total = [], 0, 0
        for field in FIELDS:
            ok, n = fields.get(field, [0, 0])
            total_ok, total = total_ok + ok, total + n
            cells.append(f"{ok}/{n}" if n else "-")
        print(
            f"{set_name:<10} {publisher:<11} "
            + " ".join(f"{c:>11}" for c in cells)
            + f" {total_ok}/{total:>5}"
        )
    print(f"{pages_done} pages in {elapsed:.1f} s ({1000 * elapsed / max(pages_done, 1):.0f} ms/page)")
    if args.verbose:
        for line in mismatches:
            print(line)
    else:
        print(f"{len(mismatches)} mismatches (-v lists them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
