"""Full-text search latency on large synthetic archives (SQLite FTS5 and PostgreSQL tsvector).

Builds an archive of N synthetic articles per size (text drawn from a Zipf-distributed vocabulary:
a few hundred very common English words, the press's domain words at realistic ranks, and a long tail
of rare words), then runs a set of typical queries through ``pledgewatch.store.search.search_articles``
(the code path of `pledgewatch search`, snippets included) and reports p50/p95 per query and overall.

    python benchmarks/search_bench.py --sizes 100000 1000000 --backends sqlite postgresql

PostgreSQL needs ``--postgres-url`` (or $PLEDGEWATCH_BENCH_POSTGRES_URL) pointing at a database of its
own, e.g. ``createdb -h 127.0.0.1 -U postgres pw_bench_search``; the benchmark empties its schema.
Archives are reused when they already hold N articles at the head revision, so a second run only
measures: SQLite files in benchmarks/out/ (gitignored), and the PostgreSQL database (one size per
database: give each size its own database and run once per size). ``--rebuild`` builds anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pledgewatch.importing import spare_the_collector  # noqa: E402
from pledgewatch.store import db, fts5rank  # noqa: E402
from pledgewatch.store.archive import get_or_create_source  # noqa: E402
from pledgewatch.store.models import Article  # noqa: E402
from pledgewatch.store.search import RANK_WINDOW, SearchFilters, count_matches, search  # noqa: E402

OUT = REPO / "benchmarks" / "out"
SEED = 20200408

COMMON = """
    the of and to in a is that for on it with as was by at from be this are have has an its said
    will not but were or been which their more than also year new other after over about into would
    all up per cent there one two last first can who had company we they percent government million
    billion people development economic china chinese country market business growth according
""".split()  # noqa: SIM905

# Domain words at the ranks where they would sit in a corpus of Chinese English-language business news.
DOMAIN = """
    JD e-commerce Alibaba online platform investment logistics rural poverty alleviation Beijing
    Shanghai Hubei Wuhan Guangdong Shenzhen Liaoning Jilin Heilongjiang Sichuan Zhejiang Jiangsu
    Guizhou Yunnan Hainan Xinjiang Tianjin Chongqing Pinduoduo Suning Tencent Meituan Huawei Xiaomi
    Baidu ByteDance retail consumers supply chain farmers villages counties revitalization
    infrastructure cloud digital pandemic recovery employment jobs training pledge invest yuan RMB
    smart city warehouse delivery drones agricultural products livestreaming exports imports
    cooperation agreement strategic partnership poverty-stricken subsidies households income
    tourism manufacturing semiconductors electric vehicles
""".split()  # noqa: SIM905

# Multi-word units that come as a whole (so phrase queries have something to find).
PHRASES = [
    "rural revitalization",
    "supply chain",
    "poverty alleviation",
    "Belt and Road",
    "next three years",
    "smart logistics",
    "Asia No. 1",
    "small and medium-sized enterprises",
]

QUERIES: list[tuple[str, dict[str, object]]] = [
    ("Hubei", {}),
    ("Pinduoduo", {}),
    ("JD invest", {}),
    ('"rural revitalization"', {}),
    ("Alibaba OR Pinduoduo", {}),
    ("logistics -Wuhan", {}),
    ('"supply chain" Shenzhen', {}),
    ("JD Hubei billion", {}),
    ("Hubei", {"sources": ("people",), "since": datetime(2020, 1, 1, tzinfo=UTC)}),
    ("e-commerce villages", {"relevant": True}),
    ("Guizhou tourism", {"until": datetime(2019, 1, 1, tzinfo=UTC)}),
    ("market", {}),  # one of the most frequent words: the worst case (ranks a large share of the archive)
]


def vocabulary(rng: np.random.Generator, size: int = 40_000) -> tuple[list[str], np.ndarray]:
    """Words by rank and their Zipf probabilities (s = 1.05), domain words placed at ranks 60-1500."""
    syllables = [a + b for a in "bcdfghjklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ai", "ou", "ia")]
    tail: list[str] = []
    seen: set[str] = set()
    while len(tail) < size:
        word = "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))
        if word not in seen:
            seen.add(word)
            tail.append(word)
    words = list(COMMON) + tail
    domain = DOMAIN + PHRASES
    ranks = np.sort(rng.choice(np.arange(60, 1500), size=len(domain), replace=False))
    for rank, word in zip(ranks, rng.permutation(np.array(domain, dtype=object)), strict=True):
        words.insert(int(rank), str(word))
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    return words, np.cumsum(weights / weights.sum())


def synthetic_batch(
    rng: np.random.Generator, words: list[str], cdf: np.ndarray, start: int, count: int, source_ids: list[int]
) -> list[dict[str, object]]:
    lengths = np.clip(rng.lognormal(mean=5.4, sigma=0.45, size=count), 60, 1200).astype(int)
    title_lengths = rng.integers(6, 13, size=count)
    draws = np.searchsorted(cdf, rng.random(int(lengths.sum() + title_lengths.sum())))
    vocab = np.array(words, dtype=object)
    tokens = vocab[np.minimum(draws, len(words) - 1)]
    rows = []
    position = 0
    base = datetime(2016, 1, 1, tzinfo=UTC)
    days = rng.integers(0, 6 * 365, size=count)
    sources = rng.integers(0, len(source_ids), size=count)
    relevant = rng.random(count) < 0.3
    now = datetime.now(UTC)
    for index in range(count):
        title_tokens = tokens[position : position + title_lengths[index]]
        position += title_lengths[index]
        body_tokens = tokens[position : position + lengths[index]]
        position += lengths[index]
        body = " ".join(body_tokens)
        number = start + index
        published = base + timedelta(days=int(days[index]), hours=int(number % 24))
        rows.append(
            {
                "source_id": source_ids[sources[index]],
                "canonical_url": f"https://example.invalid/{number}.html",
                "title": " ".join(title_tokens).capitalize(),
                "authors": [],
                "published_at": published,
                "fetched_at": now,
                "text": body.capitalize() + ".",
                "content_hash": f"{number:064x}",
                "relevant": bool(relevant[index]),
                "entities": ["JD.com"] if relevant[index] else [],
                "version": 1,
            }
        )
    return rows


def build(url: str, size: int, batch: int = 20_000) -> float:
    """Fill a fresh archive with ``size`` articles through the migrations' triggers / generated column."""
    engine = db.make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    rng = np.random.default_rng(SEED)
    words, cdf = vocabulary(rng)
    factory = db.session_factory(engine)
    with factory() as session:
        source_ids = [get_or_create_source(session, name).id for name in ("jd", "chinadaily", "people")]
        session.commit()
    search_index = ""
    if engine.dialect.name == "postgresql":
        # Bulk load: build the GIN index once at the end instead of row by row (the migrations' index,
        # as they left it: 0017's multicolumn one where btree_gin is available, else 0002's).
        with engine.begin() as connection:
            search_index = connection.execute(
                text("SELECT pg_get_indexdef('ix_articles_search_vector'::regclass)")
            ).scalar_one()
            connection.execute(text("DROP INDEX ix_articles_search_vector"))
    started = time.perf_counter()
    table = Article.__table__
    for offset in range(0, size, batch):
        rows = synthetic_batch(rng, words, cdf, offset, min(batch, size - offset), source_ids)
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        done = offset + len(rows)
        elapsed = time.perf_counter() - started
        print(f"  {done:>9,} articles  {done / elapsed:,.0f}/s", file=sys.stderr, flush=True)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.exec_driver_sql(search_index)
            connection.exec_driver_sql("ANALYZE articles")
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def article_count(url: str) -> int:
    engine = db.make_engine(url)
    try:
        if db.current_revision(engine) != db.head_revision():
            return -1
        factory = db.session_factory(engine)
        with factory() as session:
            return int(session.scalar(select(func.count()).select_from(Article)) or 0)
    except Exception:
        return -1
    finally:
        engine.dispose()


def cpu_reference_ms() -> float:
    """Milliseconds of CPU for a fixed pure-Python loop: how fast this machine was at the time.

    The shared development machine's speed varies by more than half from minute to minute (other
    tenants of the host), so results are only comparable together with this number.
    """
    started = time.process_time()
    total = 0
    for number in range(3_000_000):
        total += number
    return round((time.process_time() - started) * 1000, 1)


def measure(
    url: str, repeats: int, rank_window: int = RANK_WINDOW, rankings: tuple[str, ...] = ("default",)
) -> list[dict[str, object]]:
    """Every query ``repeats`` times, in rounds (each round runs every query once with each ranking),
    so a slow minute of the machine weighs on all queries and rankings alike instead of on
    whichever ran during it. One result per ranking: "default" (what search uses here), "bm25"
    (SQLite: FTS5's bm25(), by PLEDGEWATCH_SEARCH_RANKING)."""
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    labels = [query + "".join(f" --{key.replace('_', '-')}" for key in options) for query, options in QUERIES]
    filters = [
        SearchFilters(limit=20, rank_window=rank_window, **options)  # type: ignore[arg-type]
        for _, options in QUERIES
    ]
    times = {(ranking, label): [] for ranking in rankings for label in labels}
    cpu = {(ranking, label): [] for ranking in rankings for label in labels}
    reference = [cpu_reference_ms()]

    def use(ranking: str) -> None:
        if ranking == "bm25":
            os.environ[fts5rank.RANKING_ENV] = "bm25"
        else:
            os.environ.pop(fts5rank.RANKING_ENV, None)

    with factory() as session:
        # As the CLI and the daemon do at start (pledgewatch.importing): the imported modules' objects
        # out of the cyclic collector's reach. Otherwise a full collection walks them (65 ms on this
        # machine) every few searches, in whichever search allocates past the threshold.
        spare_the_collector()
        windowed = {}
        for ranking in rankings:
            use(ranking)
            for label, (query, _), wanted in zip(labels, QUERIES, filters, strict=True):
                windowed[label] = search(session, query, wanted).windowed  # warm-up
        for _ in range(repeats):
            for ranking in rankings:
                use(ranking)
                for label, (query, _), wanted in zip(labels, QUERIES, filters, strict=True):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    search(session, query, wanted)
                    times[ranking, label].append((time.perf_counter() - started) * 1000)
                    cpu[ranking, label].append((time.process_time() - cpu_started) * 1000)
        reference.append(cpu_reference_ms())
        matches = {
            label: count_matches(session, query, wanted)
            for label, (query, _), wanted in zip(labels, QUERIES, filters, strict=True)
        }
    use("default")
    engine.dispose()
    results = []
    for ranking in rankings:
        per_query: dict[str, dict[str, object]] = {}
        for label in labels:
            runs, cpu_runs = times[ranking, label], cpu[ranking, label]
            per_query[label] = {
                "matches": matches[label],
                "windowed": windowed[label],
                "p50_ms": round(statistics.median(runs), 2),
                "p95_ms": round(float(np.percentile(runs, 95)), 2),
                # CPU time of this process: the query without the waiting for a busy machine's cores
                # (SQLite runs in-process; PostgreSQL's work happens in the server and is not in it).
                "cpu_p50_ms": round(statistics.median(cpu_runs), 2),
                "cpu_p95_ms": round(float(np.percentile(cpu_runs, 95)), 2),
            }
            print(f"  {ranking:<8} {label:<45} {per_query[label]}", file=sys.stderr, flush=True)
        typical = [t for label in labels if not label.startswith("market") for t in times[ranking, label]]
        typical_cpu = [t for label in labels if not label.startswith("market") for t in cpu[ranking, label]]
        everything = [t for label in labels for t in times[ranking, label]]
        results.append(
            {
                "ranking": ranking if ranking == "bm25" else fts5rank.describe(),
                "queries": per_query,
                "p50_ms": round(statistics.median(everything), 2),
                "p95_ms": round(float(np.percentile(everything, 95)), 2),
                "typical_p50_ms": round(statistics.median(typical), 2),
                "typical_p95_ms": round(float(np.percentile(typical, 95)), 2),
                "typical_cpu_p95_ms": round(float(np.percentile(typical_cpu, 95)), 2),
                "load_average": os.getloadavg()[0],
                "cpu_reference_ms": reference,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=os.environ.get("PLEDGEWATCH_BENCH_POSTGRES_URL"))
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per query")
    parser.add_argument("--rebuild", action="store_true", help="build even if the archive holds N articles")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--rank-window", type=int, default=RANK_WINDOW, help="rank at most this many newest matches"
    )
    parser.add_argument(
        "--compare-bm25",
        action="store_true",
        help="SQLite: also time FTS5's bm25() (PLEDGEWATCH_SEARCH_RANKING=bm25), in the same rounds",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for backend in args.backends:
        for size in args.sizes:
            if backend == "sqlite":
                url = f"sqlite:///{OUT / f'search-{size}.db'}"
            elif args.postgres_url:
                url = args.postgres_url
            else:
                print("skipping postgresql: no --postgres-url", file=sys.stderr)
                break
            print(f"{backend} {size:,} articles", file=sys.stderr)
            build_seconds = None
            if args.rebuild or article_count(url) != size:
                if backend == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{OUT / f'search-{size}.db'}{suffix}").unlink(missing_ok=True)
                build_seconds = round(build(url, size), 1)
            rankings = ("default", "bm25") if backend == "sqlite" and args.compare_bm25 else ("default",)
            for measured in measure(url, args.repeats, args.rank_window, rankings):
                result = {
                    "backend": backend,
                    "articles": size,
                    "build_seconds": build_seconds,
                    "rank_window": args.rank_window,
                    **measured,
                }
                results.append(result)
                print(json.dumps({k: v for k, v in result.items() if k != "queries"}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
