"""Search latency of whichever pledgewatch is imported, on an archive search_bench.py built: for A/B runs.

search_bench.py checks that the archive is at the migrations' head and rebuilds it otherwise, so an
older commit cannot be timed on it. This script only searches: run it once with the current code
and once with ``PYTHONPATH=<a worktree of the other commit>``, in turn, on the same archive (the
other commit's code must work with the archive's schema), and compare the two lines it prints:
the package path, the typical p50 / p95 (every query but ``market``, as search_bench.py reports
it) and the machine's speed at the time (search_bench.cpu_reference_ms).

    python benchmarks/search_ab.py postgresql+psycopg://postgres@127.0.0.1:5432/pw_search_1m --rounds 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# pledgewatch first, from wherever the path finds it (PYTHONPATH for the other commit): search_bench
# puts this checkout first on the path for what it imports after.
import pledgewatch
from pledgewatch.importing import spare_the_collector
from pledgewatch.store import db
from pledgewatch.store.search import SearchFilters, search

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the archive's database URL")
    parser.add_argument("--rounds", type=int, default=10, help="runs of every query, in rounds")
    args = parser.parse_args()
    engine = db.make_engine(args.url)
    times: dict[str, list[float]] = {query: [] for query, _ in search_bench.QUERIES}
    wanted = [SearchFilters(limit=20, **options) for _, options in search_bench.QUERIES]  # type: ignore[arg-type]
    with db.session_factory(engine)() as session:
        spare_the_collector()  # as the CLI does (see search_bench.measure)
        for (query, _), filters in zip(search_bench.QUERIES, wanted, strict=True):
            search(session, query, filters)  # warm-up
        for _ in range(args.rounds):
            for (query, _), filters in zip(search_bench.QUERIES, wanted, strict=True):
                started = time.perf_counter()
                search(session, query, filters)
                times[query].append((time.perf_counter() - started) * 1000)
    engine.dispose()
    typical = [ms for query, runs in times.items() if query != "market" for ms in runs]
    print(
        json.dumps(
            {
                "pledgewatch": str(Path(pledgewatch.__file__).parent),
                "typical_p50_ms": round(statistics.median(typical), 1),
                "typical_p95_ms": round(float(np.percentile(typical, 95)), 1),
                "cpu_reference_ms": search_bench.cpu_reference_ms(),
            }
        )
    )


if __name__ == "__main__":
    main()
