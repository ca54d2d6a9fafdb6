"""Build the sample web: ``python -m pledgewatch.sampleweb.build [--out DIR] [--fixtures]``.

Renders the articles in ``content/`` through the site templates into two WARC snapshots
(``sampleweb.warc.gz`` on 2021-06-01 and ``sampleweb-later.warc.gz`` on 2021-06-20) and writes
``sampleweb-manifest.json``, the ground truth other components are tested against. With
``--fixtures`` it also refreshes the per-publisher parser fixtures in tests/data/publishers/.
The output is byte-identical on every run, so the committed files can be checked against a rebuild.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from pledgewatch.sampleweb import DATA_DIR
from pledgewatch.sampleweb.content import SITES, Article, ContentError, load_all
from pledgewatch.sampleweb.site import (
    FEEDS,
    JD_SITEMAP_INDEX,
    JD_SITEMAP_POSTS,
    LISTINGS,
    SNAPSHOTS,
    Page,
    SiteRenderer,
    feed_items,
    in_snapshot,
    listing_pages,
    newest_first,
)
from pledgewatch.sampleweb.warc import write_warc

WARC_NAMES = {"first": "sampleweb.warc.gz", "later": "sampleweb-later.warc.gz"}
MANIFEST_NAME = "sampleweb-manifest.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = REPO_ROOT / "tests" / "data" / "publishers"
# Which article of each publisher is its parser fixture (the seed articles: real text).
FIXTURE_ARTICLES = {
    "jd": "jd-com-to-invest-over-rmb-6-billion-in-hubei",
    "chinadaily": "jd-plans-to-add-jobs-in-northeastern-region",
    "people": "internet-plus-strategy-accelerates-recovery-of-hubeis-economy",
}
FIXTURE_FEEDS = {
    "jd": "https://jdcorporateblog.com/feed/",
    "chinadaily": "https://www.chinadaily.com.cn/rss/business_rss.xml",
    "people": "https://en.people.cn/rss/90000.xml",
}
FIXTURE_LISTINGS = {
    "jd": "https://jdcorporateblog.com/",
    # The channel with the featured block (div.tw2), as on the real /world/china-us page.
    "chinadaily": "https://www.chinadaily.com.cn/world/china-us",
    "people": "https://en.people.cn/90777/index.html",
}

CONVENTIONS = {
    "published": "ISO 8601 in Beijing time (+08:00), as the page prints it",
    "authors": "personal names in title case (China Daily prints them in capitals: 'By FAN FEIFEI')",
    "outlet": "the outlet the page credits: China Daily's byline, People's Daily's origin-line parenthesis, "
    "'JD Corporate Blog' for the blog",
    "text": "the clean body: paragraphs joined by a blank line; no byline, e-mail line, caption, share "
    "block or other page furniture",
    "relevant": "title or body mentions a JD.com watch-list alias on word boundaries (JD, JD.com, Jingdong, "
    "Jingxi, 京东); 'JDK' and 'JDBC' do not count",
    "expected_pledges": "one entry per pledge sentence; amount_value in base units (6 billion = 6000000000), "
    "currency CNY for RMB/yuan (bracketed dollar conversions ignored), amount_unit for non-money amounts, "
    "qualifier 'more than'/'about'... or null; horizon as printed; 'over the next N years' in year Y gives "
    "start_year Y and end_year Y+N, 'by YEAR' gives start_year Y (publication year) and end_year YEAR; "
    "new_or_known is 'new' for the first report of the pledge in the sample web (by publication time) and "
    "'known' for a later mention (same pledge_ref)",
}


def served_text(article: Article, snapshot: str) -> str:
    return "\n\n".join(article.served_paragraphs(snapshot))


def article_entry(article: Article, by_key: dict[str, Article]) -> dict[str, Any]:
    snapshots = [s for s in SNAPSHOTS if in_snapshot(article, s)]
    text = served_text(article, snapshots[0])
    entry: dict[str, Any] = {
        "url": article.url,
        "key": article.key,
        "source": article.site,
        "snapshots": snapshots,
        # Page 1 first; a multi-page article's text is that of all its pages.
        "page_urls": article.page_urls,
        "title": article.first.title,
        "authors": article.authors,
        "published": article.published.isoformat(),
        "outlet": article.outlet,
        "relevant": article.relevant(snapshots[0]),
        "special": article.special,
        "relations": {
            "seed": article.seed,
            "syndicated_from": by_key[article.syndicated_from].url if article.syndicated_from else None,
            "syndicated_as": [a.url for a in by_key.values() if a.syndicated_from == article.key],
            "edited_in_later": article.later is not None,
        },
        "body_start": text[:60],
        "body_end": text[-60:],
        "text": text,
        "expected_pledges": article.first.pledges,
    }
    if article.later is not None:
        later_text = served_text(article, "later")
        entry["later"] = {
            "title": article.later.title,
            "modified": article.later.modified.isoformat() if article.later.modified else None,
            "relevant": article.relevant("later"),
            "body_start": later_text[:60],
            "body_end": later_text[-60:],
            "text": later_text,
            "expected_pledges": article.later.pledges,
        }
    return entry


def manifest(articles: list[Article]) -> dict[str, Any]:
    by_key = {a.key: a for a in articles}
    snapshots: dict[str, Any] = {}
    for snapshot, when in SNAPSHOTS.items():
        present = [a for a in articles if in_snapshot(a, snapshot)]
        listings = []
        for listing in LISTINGS:
            numbered = listing_pages(listing, present)
            for number, (url, items) in enumerate(numbered, start=1):
                listings.append(
                    {
                        "url": url,
                        "source": listing.site,
                        "listing": listing.name,
                        "page": number,
                        "article_urls": [a.url for a in items],
                        "next_page": numbered[number][0] if number < len(numbered) else None,
                    }
                )
        feeds = [
            {"url": f.url, "source": f.site, "article_urls": [a.url for a in feed_items(f, present)]}
            for f in FEEDS
        ]
        jd_posts = newest_first([a for a in present if a.site == "jd"])
        snapshots[snapshot] = {
            "warc": WARC_NAMES[snapshot],
            "date": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "article_urls": [a.url for a in present],
            "listings": listings,
            "feeds": feeds,
            "sitemaps": [
                {"url": JD_SITEMAP_INDEX, "source": "jd", "sitemap_urls": [JD_SITEMAP_POSTS]},
                {
                    "url": JD_SITEMAP_POSTS,
                    "source": "jd",
                    "article_urls": [a.url for a in jd_posts],
                    "lastmod": {a.url: a.lastmod(snapshot).isoformat() for a in jd_posts},
                },
            ],
            "robots": [f"https://{host}/robots.txt" for host in _hosts()],
            "new_articles": [a.url for a in present if not in_snapshot(a, "first")],
            "edited_articles": [a.url for a in present if snapshot == "later" and a.later is not None],
        }
    special = {
        "gbk": [a.url for a in articles if a.special == "gbk"],
        "malformed": [a.url for a in articles if a.special == "malformed"],
        "edited_in_later": [a.url for a in articles if a.later is not None],
        "syndicated": [
            {"original": by_key[a.syndicated_from].url, "republished": a.url}
            for a in articles
            if a.syndicated_from
        ],
        "seeds": {a.seed: a.url for a in articles if a.seed},
        "multi_page": {a.url: a.page_urls for a in articles if a.pages > 1},
        "old_url_scheme": [a.url for a in articles if a.url.endswith(".htm")],
        "slash_byline": [a.url for a in articles if a.extra.get("byline_sep") == "/"],
        "older_article_layout": [a.url for a in articles if a.special == "gbk"],
        # Listing pages whose markup the parser does not know in that snapshot: the crawl reaches
        # their articles through the article-link fallback.
        "changed_listing_markup": {
            snapshot: [
                url
                for listing in LISTINGS
                if listing.template(snapshot) != f"{listing.site}_listing.html.j2"
                for url, _ in listing_pages(listing, [a for a in articles if in_snapshot(a, snapshot)])
            ]
            for snapshot in SNAPSHOTS
        },
    }
    return {
        "description": "Ground truth of the pledgewatch sample web "
        "(built by python -m pledgewatch.sampleweb.build)",
        "conventions": CONVENTIONS,
        "snapshots": snapshots,
        "special_pages": special,
        "dangling_links": "none: every article, listing, feed and sitemap link resolves inside the same "
        "WARC; menus and footers link to section pages that are not in the WARC (not articles)",
        "articles": [article_entry(a, by_key) for a in articles],
    }


def _hosts() -> list[str]:
    from pledgewatch.sampleweb.content import HOSTS

    return [HOSTS[site] for site in SITES]


def write_fixtures(articles: list[Article], first_pages: list[Page], fixtures_dir: Path) -> None:
    """Parser fixtures, Fundus style: one page and its expected JSON per kind and publisher."""
    pages = {p.url: p for p in first_pages}
    by_key = {a.key: a for a in articles}
    present = [a for a in articles if in_snapshot(a, "first")]
    for site in SITES:
        target = fixtures_dir / site
        target.mkdir(parents=True, exist_ok=True)
        article = by_key[FIXTURE_ARTICLES[site]]
        text = served_text(article, "first")
        (target / "article.html").write_bytes(pages[article.url].body)
        # A multi-page article's further pages: article-2.html, article-3.html, ...
        for number, page_url in enumerate(article.page_urls[1:], start=2):
            (target / f"article-{number}.html").write_bytes(pages[page_url].body)
        _dump(
            target / "article.expected.json",
            {
                "url": article.url,
                **({"page_urls": article.page_urls[1:]} if len(article.page_urls) > 1 else {}),
                "source": site,
                "title": article.first.title,
                "authors": article.authors,
                "published": article.published.isoformat(),
                "outlet": article.outlet,
                "body_start": text[:60],
                "body_end": text[-60:],
            },
        )
        listing = next(item for item in LISTINGS if item.first_url == FIXTURE_LISTINGS[site])
        numbered = listing_pages(listing, present)
        (target / "listing.html").write_bytes(pages[listing.first_url].body)
        _dump(
            target / "listing.expected.json",
            {
                "url": listing.first_url,
                "article_urls": [a.url for a in numbered[0][1]],
                "next_page": numbered[1][0] if len(numbered) > 1 else None,
            },
        )
        feed = next(item for item in FEEDS if item.url == FIXTURE_FEEDS[site])
        (target / "feed.xml").write_bytes(pages[feed.url].body)
        _dump(
            target / "feed.expected.json",
            {"url": feed.url, "article_urls": [a.url for a in feed_items(feed, present)]},
        )


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build(out_dir: Path, fixtures_dir: Path | None = None) -> dict[str, Path]:
    """Build both snapshots and the manifest into ``out_dir``; return the written paths."""
    articles = load_all()
    written: dict[str, Path] = {}
    first_pages: list[Page] = []
    for snapshot, when in SNAPSHOTS.items():
        pages = SiteRenderer(articles, snapshot).pages()
        if snapshot == "first":
            first_pages = pages
        path = out_dir / WARC_NAMES[snapshot]
        write_warc(path, pages, snapshot, when)
        written[snapshot] = path
    manifest_path = out_dir / MANIFEST_NAME
    _dump(manifest_path, manifest(articles))
    written["manifest"] = manifest_path
    if fixtures_dir is not None:
        write_fixtures(articles, first_pages, fixtures_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pledgewatch.sampleweb.build",
        description="Build the offline sample web (WARC + manifest).",
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output directory (default: {DATA_DIR})")
    parser.add_argument(
        "--fixtures",
        nargs="?",
        const=FIXTURES_DIR,
        type=Path,
        default=None,
        metavar="DIR",
        help=f"also write the parser fixtures (default DIR: {FIXTURES_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        written = build(args.out, args.fixtures)
    except (ContentError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in written.items():
        print(f"{name}: {path} ({path.stat().st_size} bytes)")
    if args.fixtures:
        print(f"fixtures: {args.fixtures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
