"""Pledge identity lookup time as the archive's pledges grow (issue 15).

A fresh SQLite store is filled with synthetic pledges through
:func:`pledgewatch.store.pledges.link_report_candidates` (what a crawl calls after detection; the
detector itself is not run, so only identity is timed), in the proportions of a real archive: a
few companies own most pledges (JD alone 40 %), money in yuan and dollars from millions to
hundreds of billions, counts of jobs and facilities, provinces and target years, sentences with
purpose words from a vocabulary. At each size in ``--sizes`` a fixed set of probes is timed
through ``_find_pledge`` (nothing stored): re-reports of a stored pledge (amount rounded, other
words, a third in another currency), new pledges of a known actor, revisions ("raises to") and
unresolved actors. Flat cost means the p50 / mean at 3,000 pledges are those at 100.

``--re-reports K`` links K other outlets' reports to each stored pledge as it is stored (its amount
rounded, other words, days to weeks later), so that mentions accumulate as on a real archive: each
lookup then reads the candidates' mentions too (the cost that grew on the 100,000-article replica).

Run: ``python benchmarks/identity_speed.py [--sizes 100 1000 3000] [--probes 300] [--re-reports K] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACTORS = ["JD", "Alibaba", "Tencent", "Pinduoduo", "Meituan", "Huawei", "Baidu", "ByteDance", "Xiaomi", "BYD"]
ACTOR_WEIGHTS = [40, 15, 10, 8, 6, 6, 5, 4, 3, 3]
PROVINCES = [
    "Hubei",
    "Sichuan",
    "Guizhou",
    "Yunnan",
    "Guangdong",
    "Jiangsu",
    "Shaanxi",
    "Hebei",
    "Gansu",
    "Hainan",
]
PURPOSE = [
    "drones",
    "cold-chain",
    "logistics",
    "warehouses",
    "farmers",
    "villages",
    "poverty",
    "alleviation",
    "rural",
    "revitalization",
    "e-commerce",
    "livestreaming",
    "retail",
    "technology",
    "cloud",
    "computing",
    "artificial",
    "intelligence",
    "robotics",
    "healthcare",
    "pharmacy",
    "hospitals",
    "education",
    "schools",
    "scholarships",
    "veterans",
    "employment",
    "couriers",
    "supply",
    "chain",
    "manufacturing",
    "semiconductors",
    "batteries",
    "vehicles",
    "charging",
    "solar",
    "renewable",
    "carbon",
    "neutrality",
    "recycling",
    "packaging",
    "forestry",
    "tourism",
    "agriculture",
    "orchards",
    "apples",
    "kiwifruit",
    "tea",
]


def _sentence(actor: str, verb: str, amount: str, region: str | None, words: list[str], years: str) -> str:
    place = f" in {region}" if region else ""
    return f"{actor} will {verb} {amount}{place} {years} to support {' and '.join(words)}."


def make_candidate(rng: random.Random, index: int) -> tuple[Any, datetime]:
    """A synthetic first report: (PledgeCandidate, published)."""
    from pledgewatch.pledges import PledgeCandidate

    actor = rng.choices(ACTORS, ACTOR_WEIGHTS)[0]
    published = datetime(2016, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(3650))
    roll = rng.random()
    region = rng.choice(PROVINCES) if rng.random() < 0.6 else None
    start = published.year
    end = start + rng.choice([1, 2, 3, 5]) if rng.random() < 0.6 else None
    years = f"by {end}" if end else ""
    words = rng.sample(PURPOSE, 3)
    if roll < 0.75:
        value = float(f"{10 ** rng.uniform(7, 11.5):.2g}")
        currency = "USD" if rng.random() < 0.2 else "CNY"
        kind = rng.choice(["invest", "invest", "donate", "build", "poverty"])
        unit = None
        amount = f"{value / 1e9:g} billion {'dollars' if currency == 'USD' else 'yuan'}"
        verb = "invest" if kind != "donate" else "donate"
    else:
        value = float(rng.choice([100, 150, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]))
        currency = None
        kind, unit = rng.choice([("jobs", "jobs"), ("build", "facilities"), ("training", "farmers")])
        amount = f"{value:,.0f} {unit}"
        verb = "create" if kind == "jobs" else "build" if kind == "build" else "train"
    candidate = PledgeCandidate(
        actor=actor,
        kind=kind,
        amount_value=value,
        currency=currency,
        amount_unit=unit,
        qualifier=None,
        region=region,
        horizon=years or None,
        start_year=start if end else None,
        end_year=end,
        sentence=_sentence(actor, verb, amount, region, words, years),
        sentence_index=0,
        start_offset=0,
        end_offset=10,
    )
    return candidate, published


def re_report_of(rng: random.Random, original: Any, published: datetime) -> tuple[Any, datetime]:
    """Another outlet's report of ``original`` days or weeks later: amount rounded, other words."""
    from dataclasses import replace

    value = original.amount_value * rng.uniform(0.95, 1.05) if original.amount_value else None
    currency = original.currency
    if currency == "CNY" and value and rng.random() < 0.3:
        value, currency = value / 6.8, "USD"
    words = original.sentence.split(" to support ")[-1]
    sentence = original.sentence.replace(" will ", " plans to ", 1).split(" to support ")[0]
    candidate = replace(
        original, amount_value=value, currency=currency, sentence=f"{sentence}, the company said, for {words}"
    )
    return candidate, published + timedelta(days=rng.randrange(1, 60))


def probe_of(rng: random.Random, stored: list[tuple[Any, datetime]]) -> tuple[str, Any, datetime]:
    """A probe: a re-report, a new pledge, a revision or an unresolved actor."""
    from dataclasses import replace

    roll = rng.random()
    if roll < 0.5:
        original, published = rng.choice(stored)
        return "re-report", *re_report_of(rng, original, published)
    candidate, published = make_candidate(rng, -1)
    if roll < 0.8:
        return "new", candidate, published
    if roll < 0.9:
        revised = replace(candidate, is_revision=True, sentence="It raises its pledge. " + candidate.sentence)
        return "revision", revised, published
    return "unresolved", replace(candidate, actor="the company", actor_resolved=False), published


def run(sizes: list[int], probes: int, seed: int, re_reports: int = 0) -> list[dict[str, Any]]:
    from sqlalchemy import text

    from pledgewatch.store import db
    from pledgewatch.store.pledges import _find_pledge, link_report_candidates

    rng = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'identity.db'}")
        db.ensure_schema(engine)
        stored: list[tuple[Any, datetime]] = []
        with db.session_factory(engine)() as session:
            for size in sorted(sizes):
                load_start = time.perf_counter()
                loaded = len(stored)
                while len(stored) < size:
                    candidate, published = make_candidate(rng, len(stored))
                    link_report_candidates(session, f"r{len(stored)}", [candidate], published, "bench")
                    for number in range(re_reports):
                        again, when = re_report_of(rng, candidate, published)
                        link_report_candidates(session, f"r{len(stored)}-{number}", [again], when, "bench")
                    stored.append((candidate, published))
                    if len(stored) % 200 == 0:
                        session.commit()
                session.commit()
                load_s = time.perf_counter() - load_start
                pledges = session.scalar(text("SELECT count(*) FROM pledges"))
                mentions = session.scalar(text("SELECT count(*) FROM pledge_mentions"))
                probe_rng = random.Random(seed + 1)
                times = []
                by_type: dict[str, list[float]] = {}
                found = 0
                for _ in range(probes):
                    probe_type, candidate, published = probe_of(probe_rng, stored[:100])
                    session.expire_all()
                    start = time.perf_counter()
                    pledge, _revision = _find_pledge(session, candidate, published)
                    times.append((time.perf_counter() - start) * 1000)
                    by_type.setdefault(probe_type, []).append(times[-1])
                    found += pledge is not None
                times.sort()
                results.append(
                    {
                        "pledges_stored": size,
                        "stored_pledges_rows": pledges,
                        "stored_mentions_rows": mentions,
                        "load_ms_per_pledge": round(load_s * 1000 / max(1, size - loaded), 2),
                        "probes": probes,
                        "probes_linked": found,
                        "lookup_ms_p50": round(statistics.median(times), 2),
                        "lookup_ms_mean": round(statistics.fmean(times), 2),
                        "lookup_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
                        "lookup_ms_mean_by_probe": {
                            k: round(statistics.fmean(v), 2) for k, v in sorted(by_type.items())
                        },
                    }
                )
        engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--re-reports",
        type=int,
        default=0,
        help="other outlets' reports linked to each stored pledge (mentions accumulate as on a real archive)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.sizes, args.probes, args.seed, args.re_reports)
    if args.json:
        print(json.dumps(results))
        return 0
    print("pledges (mentions) | load ms/pledge | probes linked | lookup p50 / mean / p95 ms | by probe type")
    for row in results:
        print(
            f"{row['pledges_stored']:>7} ({row['stored_mentions_rows']}) | {row['load_ms_per_pledge']:>14}"
            f" | {row['probes_linked']:>4}/{row['probes']}"
            f" | {row['lookup_ms_p50']} / {row['lookup_ms_mean']} / {row['lookup_ms_p95']}"
            f" | mean by probe: {row['lookup_ms_mean_by_probe']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
