"""A scaled replica of the three sites for crawl benchmarks (issue 15): N articles in a WARC.

The bundled sample web (``pledgewatch/sampleweb``) is the template: its page templates (the
sites' real URL patterns, headers, footers, sidebars, bylines, feeds, sitemaps, paginated
listings) and its articles. Each replica article takes a sample article's site, channels, authors
and layout under a URL of that site's pattern (``jdcorporateblog.com/<slug>/``, China Daily's
``/a/YYYYMM/DD/WS<hex>.html``, People's Daily's ``/n3/YYYY/MMDD/c90000-<id>.html``) and gets a
body of its own: sentences drawn from the whole sample web's non-pledge text, words varied, so
that no two articles are near copies (deduplication would otherwise merge them). A share of the
articles (``PLEDGE_SHARE``, a quarter: the real sites' business news carries a quantity pledge
in about one article in four to six) also states one of the sample web's pledge sentences with
the amount, the year and the place changed, so identity has ever more distinct pledges to tell
apart as the archive grows. Pages are padded to 50-150 KB with inline script and style blocks
(what the real pages carry: analytics, ad configuration, CSS), which parsers skip but the crawl
must download and parse. Listings show 25 stories a page and every article is reachable from a
listing (and JD's from its sitemap); feeds list the newest 20, as on the sites.

``build(n, extra)`` writes two WARCs: the first with ``n`` articles, the second with the same
pages plus ``extra`` newer articles (listings, feeds and sitemaps updated), cached by their
parameters in ``--cache`` (default ``benchmarks/.cache``).

Run: ``python benchmarks/replica.py --articles 1000 [--extra 50]`` (prints the two paths).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
VERSION = 1  # bump when the generator changes: the cache is keyed by it
PLEDGE_SHARE = 0.25
PER_PAGE = 25
START = datetime(2016, 1, 1, tzinfo=UTC)
END = datetime(2021, 5, 30, tzinfo=UTC)  # before the sample web's first snapshot (2021-06-01)
PROVINCES = [
    "Hubei",
    "Sichuan",
    "Guizhou",
    "Yunnan",
    "Guangxi",
    "Shaanxi",
    "Hebei",
    "Gansu",
    "Hainan",
    "Jiangxi",
]
_SENTENCE_END = re.compile(r"(?<=[.!?\"”])\s+(?=[A-Z\"“])")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _sentences(paragraphs: list[str]) -> list[str]:
    return [s.strip() for p in paragraphs for s in _SENTENCE_END.split(p) if len(s.strip()) > 40]


def _vary_pledge(sentence: str, rng: random.Random) -> str:
    """The pledge sentence with its amount, years and place changed: another pledge of the actor."""

    def number(match: re.Match[str]) -> str:
        value = match.group(0)
        if re.fullmatch(r"(?:19|20)\d\d", value):
            return str(rng.randint(2016, 2030))
        return f"{rng.uniform(1, 99):.1f}" if "." in value else str(rng.randint(2, 999))

    varied = _NUMBER.sub(number, sentence)
    for province in PROVINCES:
        if province in varied:
            varied = varied.replace(province, rng.choice(PROVINCES))
    return varied


def _padding(rng: random.Random, size: int) -> str:
    """Inline script and style blocks of ``size`` bytes, as real pages carry (skipped by parsers)."""
    words = ["adSlot", "track", "channel", "render", "lazy", "banner", "config", "widget", "share", "video"]
    chunk = []
    total = 0
    while total < size:
        line = f'{{"{rng.choice(words)}{rng.randint(0, 9999)}":"{rng.getrandbits(64):016x}"}},'
        chunk.append(line)
        total += len(line)
    half = len(chunk) // 2
    return (
        "<style>" + "".join(f".c{i}{{margin:{i % 7}px}}" for i in range(half // 4)) + "</style>"
        "<script>window.__cfg=[" + "".join(chunk[half:]) + "0];</script>"
    )


def replica_articles(n: int, extra: int, seed: int = 15) -> list[object]:
    """``n + extra`` articles, oldest first; the last ``extra`` are the newest (the later crawl's)."""
    from pledgewatch.sampleweb.content import Article, Version, chinadaily_url, load_all

    rng = random.Random(seed)
    sample = [a for a in load_all() if not a.special and not a.syndicated_from and a.pages == 1]
    pledge_sentences = {p["sentence"] for a in load_all() for v in (a.first, a.later) if v for p in v.pledges}
    bank = [s for a in sample for s in _sentences(a.first.paragraphs) if s not in pledge_sentences]
    pledge_bank = sorted(pledge_sentences)
    vocabulary = sorted({w for s in bank for w in re.findall(r"[a-z]{5,}", s)})
    total = n + extra
    step = (END - START) / total
    out: list[Article] = []
    for index in range(total):
        template = sample[index % len(sample)]
        published = START + step * index + timedelta(minutes=rng.randrange(60))
        key = f"{template.key[:60]}-{index}"
        sentences = rng.sample(bank, k=min(len(bank), rng.randint(10, 18)))
        # Vary a word in every sentence, so that texts sharing a sentence still differ.
        sentences = [
            re.sub(r"\b[a-z]{5,}\b", lambda _m: rng.choice(vocabulary), s, count=1) for s in sentences
        ]
        if rng.random() < PLEDGE_SHARE:
            sentences.insert(rng.randrange(1, 4), _vary_pledge(rng.choice(pledge_bank), rng))
        paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
        if template.site == "jd":
            url = f"https://jdcorporateblog.com/{key}/"
        elif template.site == "chinadaily":
            url = chinadaily_url(key, published)
        else:
            local = published + timedelta(hours=8)
            url = f"https://en.people.cn/n3/{local:%Y}/{local:%m%d}/c90000-{9100000 + index}.html"
        title = f"{template.first.title.split(':')[0][:70]} ({index})"
        article = dataclasses.replace(
            template,
            key=key,
            url=url,
            published=published,
            first=Version(title=title, paragraphs=paragraphs, pledges=[]),
            later=None,
            seed=None,
            figure=None,
            extra={k: v for k, v in template.extra.items() if k != "post_id"} | {"post_id": 20000 + index},
        )
        out.append(article)
    return out


def _pages(articles: list[object], seed: int) -> Iterator[object]:
    """Every page of the replica (robots, feeds, sitemaps, listings, articles), articles padded;
    one at a time, as the WARC is written (100,000 padded pages would hold 10 GB)."""
    from pledgewatch.sampleweb import site

    rng = random.Random(seed)
    listings = site.LISTINGS
    site.LISTINGS = tuple(dataclasses.replace(listing, per_page=PER_PAGE) for listing in listings)
    try:
        pages = site.SiteRenderer(articles, "first").pages()  # type: ignore[arg-type]
    finally:
        site.LISTINGS = listings
    for page in pages:
        if page.kind in ("article", "listing"):
            size = rng.randint(50_000, 150_000) - len(page.body)
            if size > 0:
                body = page.body.replace(b"</head>", _padding(rng, size).encode() + b"</head>", 1)
                page = dataclasses.replace(page, body=body)
        yield page


def build(n: int, extra: int = 50, cache: Path = CACHE, seed: int = 15) -> tuple[Path, Path]:
    """(first WARC with ``n`` articles, later WARC with ``n + extra``), built once and cached."""
    from pledgewatch.sampleweb.site import SNAPSHOTS
    from pledgewatch.sampleweb.warc import write_warc

    tag = hashlib.sha1(f"{VERSION}|{n}|{extra}|{seed}".encode()).hexdigest()[:8]
    first = cache / f"replica-{n}-{tag}.warc.gz"
    later = cache / f"replica-{n}+{extra}-{tag}.warc.gz"
    if first.exists() and later.exists():
        return first, later
    cache.mkdir(parents=True, exist_ok=True)
    articles = replica_articles(n, extra, seed)
    for path, chosen in ((first, articles[:n]), (later, articles)):
        partial = path.with_suffix(".partial")
        write_warc(partial, _pages(chosen, seed), "first", SNAPSHOTS["first"])  # type: ignore[arg-type]
        partial.replace(path)
    return first, later


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--extra", type=int, default=50)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    for path in build(args.articles, args.extra, args.cache):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
