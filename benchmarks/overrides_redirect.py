"""The cost of the analyst overrides' hook in pledge linking (store/overrides.redirect).

Rescans the sample web (42 articles, SQLite) with the hook and with it disabled, alternating,
and prints the best time of each. Run: python benchmarks/overrides_redirect.py [ROUNDS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import helpers_pledges

from pledgewatch.config import Config
from pledgewatch.ingest import rescan
from pledgewatch.pledges.watchlist import Watchlist
from pledgewatch.store import db, overrides


def main(rounds: int) -> None:
    folder = tempfile.mkdtemp()
    engine = db.make_engine(f"sqlite:///{folder}/bench.db")
    db.ensure_schema(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        helpers_pledges.ingest_snapshot(session, "first")
        session.commit()
    watchlist = Watchlist(Config().watchlist)
    hook = overrides.redirect
    best = {"with overrides.redirect": float("inf"), "hook disabled": float("inf")}
    for _ in range(rounds):
        for label in best:
            overrides.redirect = hook if label.startswith("with") else (lambda s, p, r, *a: (p, r))
            with sessions() as session:
                started = time.perf_counter()
                rescan(session, watchlist)
                best[label] = min(best[label], time.perf_counter() - started)
    overrides.redirect = hook
    for label, seconds in best.items():
        print(f"{label}: rescan of the sample web (42 articles), best of {rounds}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
