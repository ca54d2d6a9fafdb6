"""Deduplication at archive scale: insert throughput, near-duplicate recall/precision, lookup time, memory.

Loads N synthetic news articles (~300 words drawn from a Zipf-distributed vocabulary, so common
words and phrases recur across articles as in real news) into a fresh archive, a known share of
them planted near-duplicates of an earlier article (random word substitutions at a random rate,
a trimmed or extended ending, half of them from another outlet). Every article goes through the
same dedup decisions as ``save_article``: LSH candidates from ``dedup_buckets``, verification on
the stored texts, duplicate (same outlet) or story (other outlet). Articles are written in batches
with Core inserts so a million fit in about half an hour on SQLite; ``--orm N`` also times the
per-article ``save_article`` path on the first N articles.

Then it probes the full archive with fresh lookups (half near-duplicates, half new texts) and
reports the time per lookup, which must not grow with N.

    python benchmarks/dedup_bench.py --sizes 10000 100000 --json results.json
    python benchmarks/dedup_bench.py --sizes 1000000 --workdir /tmp/pwbench
    python benchmarks/dedup_bench.py --sizes 100000 --db postgresql+psycopg://postgres@127.0.0.1/pw_bench_dedup
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, select, text

from pledgewatch.records import ArticleRecord
from pledgewatch.store import db, dedup
from pledgewatch.store.archive import content_hash, get_or_create_source, save_article
from pledgewatch.store.models import Article, ArticleUrl, Base, DedupBucket, Story

SOURCES = ("jd", "chinadaily", "people")
SEED_TEXTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedup_pairs"
SYLLABLES = [
    c + v
    for c in (
        "b",
        "ch",
        "d",
        "f",
        "g",
        "h",
        "j",
        "k",
        "l",
        "m",
        "n",
        "p",
        "q",
        "r",
        "s",
        "sh",
        "t",
        "w",
        "x",
        "y",
        "z",
    )
    for v in (
        "a",
        "ai",
        "an",
        "ang",
        "ao",
        "e",
        "ei",
        "en",
        "i",
        "ian",
        "in",
        "ing",
        "o",
        "ong",
        "ou",
        "u",
        "un",
    )
]


class Corpus:
    """Deterministic synthetic articles: article i is always the same text, so nothing is kept in memory."""

    def __init__(self, vocabulary_size: int = 30_000, seed: int = 7) -> None:
        real = sorted({w for f in SEED_TEXTS.glob("*.txt") for w in dedup.words(f.read_text())})
        rng = np.random.default_rng(seed)
        made: set[str] = set(real)
        while len(made) < vocabulary_size:
            made.add("".join(rng.choice(SYLLABLES, size=rng.integers(2, 4))))
        vocab = sorted(made)
        rng.shuffle(vocab)
        # Frequent real function words first: "the", "of", "and" recur as in news text.
        common = [
            "the",
            "of",
            "and",
            "to",
            "in",
            "a",
            "said",
            "will",
            "for",
            "on",
            "is",
            "that",
            "with",
            "by",
        ]
        self.vocab = np.array(common + [w for w in vocab if w not in common])
        ranks = np.arange(1, len(self.vocab) + 1)
        weights = 1.0 / ranks**1.05
        self.cdf = np.cumsum(weights / weights.sum())
        self.seed = seed

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.vocab[np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.vocab) - 1)]

    def _format(self, words: np.ndarray, rng: np.random.Generator) -> str:
        out, i = [], 0
        while i < len(words):
            n = int(rng.integers(12, 28))
            sentence = " ".join(words[i : i + n])
            out.append(sentence[:1].upper() + sentence[1:] + ".")
            i += n
        paragraphs = [" ".join(out[j : j + 3]) for j in range(0, len(out), 3)]
        return "\n".join(paragraphs)

    def words_of(self, i: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, i))
        return self._draw(rng, int(rng.normal(300, 40)))

    def article(self, i: int) -> str:
        return self._format(self.words_of(i), np.random.default_rng((self.seed, i, 1)))

    def near_duplicate(self, original: int, i: int) -> tuple[str, float]:
        """A copy of article ``original``: a share of words replaced, the ending trimmed or extended."""
        rng = np.random.default_rng((self.seed, i, 2))
        words = self.words_of(original).copy()
        rate = float(rng.uniform(0.0, 0.25))
        replace = rng.random(len(words)) < rate
        words[replace] = self._draw(rng, int(replace.sum()))
        if rng.random() < 0.5:
            words = words[: int(len(words) * rng.uniform(0.7, 1.0))]
        else:
            words = np.concatenate([words, self._draw(rng, int(rng.integers(10, 60)))])
        return self._format(words, rng), rate


def plan(n: int, dup_share: float, batch: int, seed: int = 11) -> list[tuple[int, int | None, int]]:
    """(index, original index or None, source index) for every article, originals in earlier batches."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int | None, int]] = []
    originals: list[int] = []  # articles that are not themselves copies, in order
    ready = 0  # how many of them are in earlier batches
    for i in range(n):
        if i % batch == 0:
            ready = len(originals)
        source = int(rng.integers(0, len(SOURCES)))
        original = None
        if ready and rng.random() < dup_share:
            original = originals[int(rng.integers(0, ready))]
        else:
            originals.append(i)
        rows.append((i, original, source))
    return rows


def fresh_engine(url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(url)
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        engine = db.make_engine(url)
    else:
        Base.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.upgrade(engine)
    return engine


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Run:
    def __init__(self, corpus: Corpus, url: str, n: int, dup_share: float, batch: int) -> None:
        self.corpus, self.n, self.batch = corpus, n, batch
        self.engine = fresh_engine(url)
        self.session = db.session_factory(self.engine)()
        self.source_ids = [get_or_create_source(self.session, name).id for name in SOURCES]
        self.session.commit()
        self.plan = plan(n, dup_share, batch)
        # Where article i went: its article id (or the id it duplicates) and its story.
        self.article_of = np.zeros(n, dtype=np.int64)
        self.story_of_article: dict[int, int] = {}
        # Which generated text an article derives from (itself, or the original it copies): a
        # match between two articles of one origin is right even if they ended in two stories.
        self.origin_of_article: dict[int, int] = {}
        self.next_id = 1
        self.expected = self.detected = self.false_matches = self.candidates = self.verified = 0
        self.by_rate: dict[str, list[int]] = {}
        self.lookup_seconds: list[float] = []

    def load(self) -> dict[str, float]:
        started = time.perf_counter()
        progress_every = max(self.batch, self.n // 20)
        for start in range(0, self.n, self.batch):
            self._batch(self.plan[start : start + self.batch])
            done = min(start + self.batch, self.n)
            if done % progress_every < self.batch or done == self.n:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:>9,} articles  {rate:8.0f}/s  rss {maxrss_mb():.0f} MB", file=sys.stderr)
        elapsed = time.perf_counter() - started
        return {"seconds": elapsed, "per_second": self.n / elapsed}

    def _batch(self, rows: list[tuple[int, int | None, int]]) -> None:
        texts, truth = [], []
        for i, original, _source in rows:
            if original is None:
                texts.append(self.corpus.article(i))
                truth.append(None)
            else:
                dup_text, rate = self.corpus.near_duplicate(original, i)
                texts.append(dup_text)
                truth.append((original, rate))
        shingle_sets = [dedup.shingles(t) for t in texts]
        sigs = dedup.signatures(shingle_sets)
        articles, urls, stories, buckets = [], [], [], []
        now = datetime.now(UTC)
        for (i, _original, source), body, shingle_set, sig, planted in zip(
            rows, texts, shingle_sets, sigs, truth, strict=True
        ):
            source_id = self.source_ids[source]
            t0 = time.perf_counter()
            ids = dedup.candidate_ids(self.session, sig)
            matches = dedup.verify(self.session, shingle_set, ids)
            self.lookup_seconds.append(time.perf_counter() - t0)
            self.candidates += len(ids)
            self.verified += len(matches)
            original_story = None
            if planted is not None:
                original_article = int(self.article_of[planted[0]])
                original_story = self.story_of_article[original_article]
                expected = dedup.similarity(dedup.shingles(self.corpus.article(planted[0])), shingle_set)
                bucket = f"{min(int(expected.jaccard * 10), 9) / 10:.1f}"
                hit = any(self.story_of_article.get(m.article_id) == original_story for m in matches)
                if expected.same_story:
                    self.expected += 1
                    self.detected += hit
                    self.by_rate.setdefault(bucket, [0, 0])
                    self.by_rate[bucket][0] += 1
                    self.by_rate[bucket][1] += hit
            origin = planted[0] if planted is not None else i
            self.false_matches += sum(self.origin_of_article[m.article_id] != origin for m in matches)
            dup = next((m for m in matches if m.source_id == source_id and m.similarity.duplicate), None)
            if dup is not None:
                self.article_of[i] = dup.article_id
                continue
            article_id, self.next_id = self.next_id, self.next_id + 1
            story_id = matches[0].story_id if matches else None
            if story_id is None:
                story_id = article_id  # one story per article unless it joins one
                stories.append({"id": story_id, "created_at": now})
            self.article_of[i] = article_id
            self.story_of_article[article_id] = story_id
            self.origin_of_article[article_id] = origin
            url = f"https://{SOURCES[source]}.example/a/{i}.html"
            articles.append(
                {
                    "id": article_id,
                    "source_id": source_id,
                    "canonical_url": url,
                    "title": f"Article {i}",
                    "authors": [],
                    "fetched_at": now,
                    "text": body,
                    "content_hash": content_hash(body),
                    "fingerprint": dedup.pack(sig),
                    "relevant": False,
                    "entities": [],
                    "story_id": story_id,
                    "version": 1,
                }
            )
            urls.append({"article_id": article_id, "url": url, "first_seen_at": now})
            buckets.extend(dedup.bucket_rows(article_id, sig))
        # Core inserts (executemany), as a bulk import would write them.
        if stories:
            self.session.execute(insert(Story.__table__), stories)
        if articles:
            self.session.execute(insert(Article.__table__), articles)
            self.session.execute(insert(ArticleUrl.__table__), urls)
            self.session.execute(insert(DedupBucket.__table__), buckets)
        self.session.commit()

    def probe(self, count: int = 1000) -> dict[str, float]:
        """Time lookups against the full archive: near-duplicates of random articles and new texts."""
        rng = np.random.default_rng(5)
        originals = [i for i, original, _source in self.plan if original is None]
        seconds, hits = [], 0
        for k in range(count):
            if k % 2 == 0:
                original = originals[int(rng.integers(0, len(originals)))]
                body, _rate = self.corpus.near_duplicate(original, self.n + 10_000_000 + k)
            else:
                body = self.corpus.article(self.n + 20_000_000 + k)
            t0 = time.perf_counter()
            shingle_set = dedup.shingles(body)
            sig = dedup.signature(shingle_set)
            matches = dedup.find_similar(self.session, shingle_set, sig)
            seconds.append(time.perf_counter() - t0)
            hits += bool(matches)
        seconds.sort()
        return {
            "mean_ms": 1000 * statistics.fmean(seconds),
            "p50_ms": 1000 * seconds[len(seconds) // 2],
            "p95_ms": 1000 * seconds[int(len(seconds) * 0.95)],
            "probe_hits": hits,
        }

    def orm(self, count: int) -> dict[str, float]:
        """Per-article ``save_article`` (the crawl's path) on a fresh copy of the first articles."""
        for table in (DedupBucket, ArticleUrl, Article, Story):
            self.session.execute(delete(table))
        self.session.commit()
        started = time.perf_counter()
        statuses: dict[str, int] = {}
        for i, original, source in self.plan[:count]:
            body = self.corpus.article(i) if original is None else self.corpus.near_duplicate(original, i)[0]
            record = ArticleRecord(
                url=f"https://{SOURCES[source]}.example/a/{i}.html",
                source=SOURCES[source],
                title="t",
                text=body,
            )
            result = save_article(self.session, record, [])
            statuses[result.status] = statuses.get(result.status, 0) + 1
            if i % 200 == 199:
                self.session.commit()
        self.session.commit()
        elapsed = time.perf_counter() - started
        return {"count": count, "per_second": count / elapsed, **statuses}

    def sizes(self) -> dict[str, int]:
        rows = {}
        for table in (Article, DedupBucket, Story):
            rows[table.__tablename__] = int(
                self.session.scalar(select(text("count(*)")).select_from(table)) or 0
            )
        return rows


def run(size: int, url: str, dup_share: float, batch: int, orm: int) -> dict[str, object]:
    corpus = Corpus()
    bench = Run(corpus, url, size, dup_share, batch)
    print(f"{size:,} articles -> {url}", file=sys.stderr)
    load = bench.load()
    result: dict[str, object] = {
        "size": size,
        "database": bench.engine.dialect.name,
        "insert_per_second": round(load["per_second"], 1),
        "load_seconds": round(load["seconds"], 1),
        "planted_same_story": bench.expected,
        "recall": round(bench.detected / bench.expected, 4) if bench.expected else None,
        "false_matches": bench.false_matches,
        "precision": round(1 - bench.false_matches / max(1, bench.verified), 4),
        "candidates_per_lookup": round(bench.candidates / size, 3),
        "recall_by_jaccard": {k: round(v[1] / v[0], 3) for k, v in sorted(bench.by_rate.items())},
        "lookup_during_load_ms_first_10pct": round(
            1000 * statistics.fmean(bench.lookup_seconds[: size // 10]), 3
        ),
        "lookup_during_load_ms_last_10pct": round(
            1000 * statistics.fmean(bench.lookup_seconds[-(size // 10) :]), 3
        ),
        "rows": bench.sizes(),
    }
    result["probe"] = {k: round(v, 3) for k, v in bench.probe().items()}
    if bench.engine.dialect.name == "sqlite":
        result["db_mb"] = round(Path(bench.engine.url.database or "").stat().st_size / 2**20, 1)
    if orm:
        result["save_article"] = {k: round(v, 1) for k, v in bench.orm(orm).items()}
    result["peak_rss_mb"] = round(maxrss_mb(), 1)
    bench.session.close()
    bench.engine.dispose()
    return result


def measure_pairs() -> None:
    """The similarity table of docs/dedup.md: every pair of tests/data/dedup_pairs, exact values."""
    pairs = json.loads((SEED_TEXTS / "pairs.json").read_text())["pairs"]
    print("| a | b | outlets | expected | Jaccard | containment | decision |")
    print("|---|---|---|---|---|---|---|")
    for pair in pairs:
        a = dedup.shingles((SEED_TEXTS / pair["a"]).read_text())
        b = dedup.shingles((SEED_TEXTS / pair["b"]).read_text())
        sim = dedup.similarity(a, b)
        same = pair["a_source"] == pair["b_source"]
        if same and sim.duplicate:
            decision = "duplicate"
        elif sim.same_story:
            decision = "same story"
        else:
            decision = "different"
        outlets = "same" if same else "different"
        if pair["expect"] == "edit":
            decision = f"edit under the same URL, {decision} under another"
        print(
            f"| {pair['a']} | {pair['b']} | {outlets} | {pair['expect']} | {sim.jaccard:.3f} "
            f"| {sim.containment:.3f} | {decision} |"
        )


def measure_sampleweb() -> None:
    """Every pair of the sample web's articles: the syndicated pair, the edit, the closest others."""
    from itertools import combinations

    from pledgewatch.sampleweb import load_manifest

    articles = load_manifest()["articles"]
    sets = {a["url"]: dedup.shingles(a["text"]) for a in articles}
    scored = sorted(
        ((dedup.similarity(sets[a["url"]], sets[b["url"]]), a, b) for a, b in combinations(articles, 2)),
        key=lambda item: -item[0].jaccard,
    )
    print(f"\nsample web: {len(articles)} articles, {len(scored)} pairs; the closest five:")
    for sim, a, b in scored[:5]:
        related = b["url"] in a["relations"]["syndicated_as"] or a["url"] in b["relations"]["syndicated_as"]
        label = "syndicated" if related else "different"
        print(f"  J {sim.jaccard:.3f} C {sim.containment:.3f} {label}: {a['url']} ~ {b['url']}")
    for a in articles:
        if a.get("later"):
            sim = dedup.similarity(sets[a["url"]], dedup.shingles(a["later"]["text"]))
            print(f"  edit: J {sim.jaccard:.3f} C {sim.containment:.3f} {a['url']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", action="store_true", help="print the similarity table of the test pairs")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", help="database URL (default: a SQLite file per size in --workdir)")
    parser.add_argument("--workdir", default="/tmp/pledgewatch-dedup-bench")
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of planted near-duplicates")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--orm", type=int, default=0, help="also time save_article on this many articles")
    parser.add_argument("--json", help="append results (one JSON object per line) to this file")
    args = parser.parse_args()
    if args.pairs:
        measure_pairs()
        measure_sampleweb()
        return
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        url = args.db or f"sqlite:///{Path(args.workdir) / f'bench_{size}.db'}"
        result = run(size, url, args.dup_share, args.batch, args.orm)
        print(json.dumps(result))
        if args.json:
            with open(args.json, "a") as handle:
                handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
