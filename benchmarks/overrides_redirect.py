"""The cost of the analyst overrides' hook in pledge linking (store/overrides.redirect): a rescan of
the sample web with the hook and with it disabled. Run: python benchmarks/overrides_redirect.py
"""

import sys
import tempfile
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests"))
import helpers_pledges

from pledgewatch.store import db, overrides


def run(label):
    d = tempfile.mkdtemp()
    e = db.make_engine(f"sqlite:///{d}/t.db")
    db.ensure_schema(e)
    S = db.session_factory(e)
    best = None
    with S() as s:
        helpers_pledges.ingest_snapshot(s, "first")
        s.commit()  # warm caches
    for _ in range(3):
        with S() as s:
            from pledgewatch.config import Config
            from pledgewatch.ingest import rescan
            from pledgewatch.pledges.watchlist import Watchlist

            t = time.perf_counter()
            rescan(s, Watchlist(Config().watchlist))
            t = time.perf_counter() - t
            best = t if best is None else min(best, t)
    print(f"{label}: rescan of the sample web (42 articles) best of 3: {best * 1000:.0f} ms")


run("with overrides.redirect")
overrides.redirect = lambda session, pledge, is_revision, *a: (pledge, is_revision)
run("redirect disabled")
